package io.sluice.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.inference.InferenceException;
import io.sluice.inference.ModelIndexEntry;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Triton's repository index on REST: the request's {@code ready} flag in, the entries as JSON objects out. */
final class RepositoryIndexBody {

    /**
     * One JSON value, and nothing after it: {@code {} {}} is refused, as an inference request's body is; and no key
     * twice ({@code {"ready":false,"ready":true}}), as there too.
     */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private RepositoryIndexBody() {}

    /**
     * Whether the body asks for READY versions only: an empty body does not.
     *
     * @throws InferenceException.InvalidInput for a body that is not a JSON object, or whose {@code ready} is not
     *     a boolean
     */
    static boolean readyOnly(byte[] body) {
        if (body == null || body.length == 0) {
            return false;
        }
        JsonNode request;
        try {
            request = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new InferenceException.InvalidInput(
                    "the repository index request is not JSON: " + JsonBody.reason(e));
        } catch (IOException e) {
            throw new InferenceException.InvalidInput("the repository index request cannot be read: " + e.getMessage());
        }
        if (request == null || request.isMissingNode()) {
            return false;
        }
        if (!request.isObject()) {
            throw new InferenceException.InvalidInput("the repository index request must be a JSON object");
        }
        JsonNode ready = request.get("ready");
        if (ready != null && !ready.isBoolean()) {
            throw new InferenceException.InvalidInput("'ready' must be a boolean, was " + ready);
        }
        return ready != null && ready.booleanValue();
    }

    /** The entries as Triton writes them: name, version, state, and a reason only when there is one. */
    static List<Map<String, Object>> json(List<ModelIndexEntry> entries) {
        return entries.stream().map(e -> {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("name", e.name());
            json.put("version", e.version());
            json.put("state", e.state());
            if (!e.reason().isEmpty()) {
                json.put("reason", e.reason());
            }
            return json;
        }).toList();
    }
}
