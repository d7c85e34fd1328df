package io.sluice;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

/** Waits for server conditions instead of sleeping. */
public final class Await {

    private Await() {}

    /** Waits until {@code /v2/health/ready} answers 200. */
    public static void serverReady() {
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> given().get("/v2/health/ready").statusCode() == 200);
    }

    /**
     * Waits until every version of the optional model {@code name} has settled, READY or FAILED, as the repository
     * index tells: readiness waits for the required models only.
     */
    public static void modelSettled(String name) {
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    var states = given().post("/v2/repository/index").then().statusCode(200).extract().jsonPath()
                            .getList("findAll { it.name == '" + name + "' }.state", String.class);
                    return !states.isEmpty() && !states.contains("LOADING");
                });
    }
}
