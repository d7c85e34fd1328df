package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The native build initialises ONNX Runtime and DJL at run time (they load native libraries). A class of
 * Sluice's the compiler made for a switch over one of their enums ({@code Outer$1}) reads the enum in its
 * static initialiser, so it must be initialised at run time too: at build time it would pull the enum in.
 * The compiler names these classes, so this test finds them in the build instead of trusting the list.
 */
class NativeImageConfigTest {

    private static final Path CLASSES = Path.of("target/classes");

    @Test
    void everySyntheticSwitchMapOverOnnxRuntimeOrDjlIsInitialisedAtRunTime() throws IOException {
        List<String> runTime = runTimeInitialised();
        List<String> switchMaps;
        try (Stream<Path> files = Files.walk(CLASSES.resolve("io/sluice"))) {
            switchMaps = files.filter(f -> f.getFileName().toString().matches(".*\\$[0-9]+\\.class"))
                    .filter(NativeImageConfigTest::readsOnnxRuntimeOrDjl)
                    .map(f -> CLASSES.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", ""))
                    .toList();
        }
        assertThat(switchMaps).as("the one there is today").contains("io.sluice.runtime.TensorConversion$1");
        assertThat(runTime).containsAll(switchMaps);
    }

    private static boolean readsOnnxRuntimeOrDjl(Path classFile) {
        try {
            String bytes = new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1);
            return bytes.contains("ai/onnxruntime/") || bytes.contains("ai/djl/");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> runTimeInitialised() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(
                Path.of("src/main/resources/META-INF/native-image/io.sluice/sluice/native-image.properties"))) {
            p.load(in);
        }
        String args = p.getProperty("Args");
        String flag = "--initialize-at-run-time=";
        String list = Arrays.stream(args.split("\\s+")).filter(a -> a.startsWith(flag)).findFirst().orElseThrow()
                .substring(flag.length());
        return List.of(list.split(","));
    }
}
