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
}
