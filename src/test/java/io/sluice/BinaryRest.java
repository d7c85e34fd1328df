package io.sluice;

import static io.restassured.RestAssured.given;

import io.restassured.response.Response;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A client for the REST binary tensor extension: JSON header plus raw tensors, both ways. */
public final class BinaryRest {

    /**
     * RestAssured's settings for a request that holds a model's instance for seconds, many more on a busy machine:
     * its call waits as long as the test does, not the 30 s of {@code quarkus.http.test-timeout} (a CI host running
     * a second build timed such a call out).
     */
    public static final io.restassured.config.RestAssuredConfig PATIENT = io.restassured.RestAssured.config()
            .httpClient(io.restassured.config.HttpClientConfig.httpClientConfig()
                    .setParam("http.socket.timeout", (int) java.util.concurrent.TimeUnit.SECONDS.toMillis(120)));

    private BinaryRest() {}

    /** One raw input. */
    public record Input(String name, String datatype, long[] shape, byte[] data) {}

    /** One output of a binary response: its JSON header fields and its bytes. */
    public record Output(String name, String datatype, long[] shape, byte[] data) {}

    /** Sends {@code inputs} as binary and asks for every output in binary. */
    public static Response post(String model, List<Input> inputs) {
        return post(model, inputs, java.util.Map.of());
    }

    /** As {@link #post(String, List)}, with extra request headers (an API key, say). */
    public static Response post(String model, List<Input> inputs, java.util.Map<String, String> headers) {
        return post(model, inputs, headers, io.restassured.RestAssured.config());
    }

    /** As {@link #post(String, List)}, with RestAssured's {@code config} (a longer read timeout, say). */
    public static Response post(String model, List<Input> inputs, io.restassured.config.RestAssuredConfig config) {
        return post(model, inputs, java.util.Map.of(), config);
    }

    private static Response post(String model, List<Input> inputs, java.util.Map<String, String> headers,
            io.restassured.config.RestAssuredConfig config) {
        StringBuilder json = new StringBuilder("{\"inputs\":[");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (int i = 0; i < inputs.size(); i++) {
            Input in = inputs.get(i);
            json.append(i == 0 ? "" : ",").append("{\"name\":\"").append(in.name()).append("\",\"datatype\":\"")
                    .append(in.datatype()).append("\",\"shape\":").append(Arrays.toString(in.shape()))
                    .append(",\"parameters\":{\"binary_data_size\":").append(in.data().length).append("}}");
        }
        json.append("],\"parameters\":{\"binary_data_output\":true}}");
        byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        body.writeBytes(header);
        inputs.forEach(in -> body.writeBytes(in.data()));
        return given().config(config).headers(headers).header("Inference-Header-Content-Length", header.length)
                .contentType("application/octet-stream").body(body.toByteArray())
                .post("/v2/models/" + model + "/infer");
    }

    /** Splits a binary response into its outputs. */
    public static List<Output> outputs(Response response) {
        int headerLength = Integer.parseInt(response.getHeader("Inference-Header-Content-Length"));
        byte[] body = response.asByteArray();
        var json = new io.restassured.path.json.JsonPath(new String(body, 0, headerLength, StandardCharsets.UTF_8));
        List<Output> out = new ArrayList<>();
        int offset = headerLength;
        int n = json.getList("outputs").size();
        for (int i = 0; i < n; i++) {
            int size = json.getInt("outputs[" + i + "].parameters.binary_data_size");
            long[] shape = json.getList("outputs[" + i + "].shape", Long.class).stream().mapToLong(Long::longValue).toArray();
            out.add(new Output(json.getString("outputs[" + i + "].name"), json.getString("outputs[" + i + "].datatype"),
                    shape, Arrays.copyOfRange(body, offset, offset + size)));
            offset += size;
        }
        return out;
    }
}
