package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.sluice.fixtures.OnnxModelWriter;
import io.sluice.fixtures.OnnxModelWriter.DataType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Why {@code RequestValidation} refuses BYTES elements holding U+0000 or a character outside the Basic
 * Multilingual Plane: ONNX Runtime's Java API hands strings to the model as JNI's modified UTF-8, so the model
 * sees other bytes than the client sent. A model comparing its input with the same text, in UTF-8 in its
 * graph, finds it equal only for the other characters. Should a later ONNX Runtime pass strings unchanged,
 * this fails, and the refusal can go.
 */
class ModifiedUtf8Test {

    @ParameterizedTest
    @CsvSource({"abc, true", "é日本, true", "z<NUL>y, false", "<U+1F600>, false"})
    void theModelSeesTheTextUnchangedOnlyInsideTheBmpAndWithoutNul(String text, boolean arrivesUnchanged) throws Exception {
        String s = text.replace("<NUL>", "\u0000").replace("<U+1F600>", "\uD83D\uDE00");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        byte[] model = new OnnxModelWriter("equal_text").opset(19) // Equal takes strings from opset 19
                .input("X", DataType.STRING, 1)
                .output("Y", DataType.BOOL, 1)
                .initializer("C", new long[] {1}, s) // the text in UTF-8, in the graph
                .node("Equal", List.of("X", "C"), List.of("Y"))
                .build();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = env.createSession(model, options);
                OnnxTensor x = OnnxTensor.createTensor(env, new String[] {s}, new long[] {1});
                OrtSession.Result result = session.run(Map.of("X", x))) {
            assertThat(((boolean[]) result.get(0).getValue())[0]).isEqualTo(arrivesUnchanged);
        }
    }
}
