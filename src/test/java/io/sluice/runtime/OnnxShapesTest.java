package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.fixtures.OnnxModelWriter;
import io.sluice.fixtures.OnnxModelWriter.DataType;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which declarations in an ONNX file carry no shape: what ONNX Runtime's API cannot tell from a scalar. */
class OnnxShapesTest {

    @TempDir
    Path dir;

    private Path file(byte[] model) throws Exception {
        return Files.write(dir.resolve("model.onnx"), model);
    }

    @Test
    void inputsAndOutputsWithoutAShapeAreNamed() throws Exception {
        assertThat(OnnxShapes.withoutShape(file(TinyModels.identityOfAnyShape()))).containsExactlyInAnyOrder("X", "Y");
    }

    @Test
    void shapedTensorsAndScalarsAreNot() throws Exception {
        assertThat(OnnxShapes.withoutShape(file(TinyModels.matmul()))).isEmpty(); // weights skipped on the way
        byte[] scalar = new OnnxModelWriter("scalar").input("X", DataType.FLOAT).output("Y", DataType.FLOAT)
                .node("Identity", List.of("X"), List.of("Y")).build();
        assertThat(OnnxShapes.withoutShape(file(scalar))).isEmpty(); // a shape of no dimensions: a scalar
        byte[] mixed = new OnnxModelWriter("mixed").inputOfAnyShape("A", DataType.FLOAT).input("B", DataType.FLOAT, "n")
                .output("Y", DataType.FLOAT, "n").node("Add", List.of("A", "B"), List.of("Y")).build();
        assertThat(OnnxShapes.withoutShape(file(mixed))).containsExactly("A");
    }

    @Test
    void aFileThatIsNotOnnxNamesNothing() throws Exception {
        assertThat(OnnxShapes.withoutShape(file(TinyModels.corrupt()))).isEmpty();
        assertThat(OnnxShapes.withoutShape(dir.resolve("missing.onnx"))).isEmpty();
    }
}
