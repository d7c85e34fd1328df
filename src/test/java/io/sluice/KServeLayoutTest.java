package io.sluice;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.sluice.fixtures.TinyModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A repository that is itself one model, as KServe's storage initializer leaves one in {@code /mnt/models}
 * ({@code model.onnx} at its root), is served under {@code sluice.repository.model-name}, which the KServe
 * runtime ({@code kubernetes/kserve/}) sets to the InferenceService's name; beside a Triton-layout
 * repository, whose models keep their directories' names. Shares {@link DeadlineAndCancelTest}'s server.
 */
@QuarkusTest
@TestProfile(DeadlineAndCancelTest.Profile.class)
class KServeLayoutTest {

    static final String MODEL = "style-sample";

    /** A new directory holding only {@code model.onnx} (the tiny add model). */
    static Path repository() {
        Path dir = TinyModels.newRepository("sluice-kserve");
        try {
            Files.write(dir.resolve("model.onnx"), TinyModels.add());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    @Test
    void theMountedModelIsServedUnderTheConfiguredNameAsVersionOne() {
        Await.serverReady();
        given().get("/v2/models/" + MODEL + "/ready").then().statusCode(200);
        given().get("/v2/models/" + MODEL).then().statusCode(200)
                .body("name", equalTo(MODEL)).body("versions", contains("1"));
        given().contentType(ContentType.JSON).body("""
                {"inputs":[{"name":"A","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
                           {"name":"B","datatype":"FP32","shape":[1,4],"data":[1,1,1,1]}],
                 "outputs":[{"name":"SUM"}]}""")
                .post("/v2/models/" + MODEL + "/infer").then().statusCode(200)
                .body("model_name", equalTo(MODEL)).body("outputs[0].data", contains(2f, 3f, 4f, 5f));
        // the Triton-layout repository beside it keeps its models' names
        given().get("/v2/models/slow/ready").then().statusCode(200);
    }
}
