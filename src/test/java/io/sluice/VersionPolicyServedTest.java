package io.sluice;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.Test;

/**
 * A model whose {@code version-policy} is {@code latest:2}, with versions 1, 2 and 3 in the repository: only
 * 2 and 3 are loaded and served, and version 1 is as unknown as one the repository lacks. Shares {@link
 * DeadlineAndCancelTest}'s server.
 */
@QuarkusTest
@TestProfile(DeadlineAndCancelTest.Profile.class)
class VersionPolicyServedTest {

    static final String MODEL = "versioned";

    @Test
    void onlyTheVersionsThePolicyServesAreLoaded() {
        Await.serverReady();
        given().get("/v2/models/" + MODEL).then().statusCode(200).body("versions", contains("2", "3"));
        given().get("/v2/models/" + MODEL + "/versions/2/ready").then().statusCode(200);
        given().get("/v2/models/" + MODEL + "/versions/1/ready").then().statusCode(404);
        given().contentType(ContentType.JSON).body("""
                {"inputs":[{"name":"A","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
                           {"name":"B","datatype":"FP32","shape":[1,4],"data":[1,1,1,1]}]}""")
                .post("/v2/models/" + MODEL + "/versions/1/infer").then().statusCode(404)
                .body("error", containsString(MODEL));
        // Triton's model configuration says which policy chose them
        given().get("/v2/models/" + MODEL + "/config").then().statusCode(200)
                .body("version_policy.latest.num_versions", equalTo(2));
        given().post("/v2/repository/index").then().statusCode(200)
                .body("findAll { it.name == '" + MODEL + "' }.version", contains("2", "3"));
        given().contentType(ContentType.JSON).body("""
                {"inputs":[{"name":"A","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
                           {"name":"B","datatype":"FP32","shape":[1,4],"data":[1,1,1,1]}]}""")
                .post("/v2/models/" + MODEL + "/infer").then().statusCode(200).body("model_version", equalTo("3"));
    }
}
