package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
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

    /**
     * ONNX Runtime's JNI library finds classes and constructors by name ({@code FindClass}, {@code
     * GetMethodID}); in a native image each must be registered in {@code jni-config.json}, or the first
     * model load crashes. The names are strings in the library itself, so this reads them there: every class
     * it names is registered, every constructor signature it names is a registered constructor's, and every
     * registered constructor exists in the ONNX Runtime on the class path (an upgrade that changes one fails here).
     */
    @Test
    void jniConfigRegistersWhatOnnxRuntimesJniLibraryLooksUp() throws Exception {
        byte[] library;
        try (InputStream in = NativeImageConfigTest.class.getResourceAsStream(
                "/ai/onnxruntime/native/linux-x64/libonnxruntime4j_jni.so")) {
            assertThat(in).as("the JNI library in the onnxruntime jar").isNotNull();
            library = in.readAllBytes();
        }
        Set<String> strings = new TreeSet<>();
        // each constructor signature, with the class named last before it: the library keeps a class's name and its
        // constructors' signatures together, in that order
        Map<String, Set<String>> signaturesByClass = new TreeMap<>();
        String lastClass = null;
        Matcher printable = Pattern.compile("[\\x20-\\x7e]{4,}").matcher(new String(library, StandardCharsets.ISO_8859_1));
        while (printable.find()) {
            String found = printable.group();
            strings.add(found);
            if (found.matches("ai/onnxruntime/[A-Za-z0-9_$/]+")) {
                lastClass = found.replace('/', '.');
            } else if (found.matches("\\(.*\\)V") && lastClass != null) {
                signaturesByClass.computeIfAbsent(lastClass, c -> new TreeSet<>()).add(found);
            }
        }
        // any class of ONNX Runtime's or the JDK's it names (a FindClass of java/util/... would need registering too)
        Set<String> classes = strings.stream().filter(s -> s.matches("(ai/onnxruntime|java)/[A-Za-z0-9_$/]+"))
                .map(s -> s.replace('/', '.')).collect(Collectors.toCollection(TreeSet::new));
        Set<String> constructors = strings.stream().filter(s -> s.matches("\\(.*\\)V"))
                .collect(Collectors.toCollection(TreeSet::new));
        // only constructors are looked up today: a method with a result would need registering as a method
        assertThat(strings.stream().filter(s -> s.matches("\\([\\[A-Za-z0-9/;$]*\\)[\\[A-Za-z0-9/;$]+") && !s.endsWith(")V")))
                .as("JNI method signatures other than constructors'").isEmpty();
        assertThat(classes).as("what the library names").contains("ai.onnxruntime.TensorInfo", "java.lang.String");

        JsonNode config = new ObjectMapper().readTree(
                Path.of("src/main/resources/META-INF/native-image/io.sluice/sluice/jni-config.json").toFile());
        Set<String> registered = new TreeSet<>();
        Set<String> registeredConstructors = new TreeSet<>();
        Map<String, Set<String>> registeredByClass = new TreeMap<>();
        for (JsonNode entry : config) {
            String name = entry.get("name").asText();
            registered.add(name);
            for (JsonNode method : entry.path("methods")) {
                List<Class<?>> types = new ArrayList<>();
                for (JsonNode type : method.get("parameterTypes")) {
                    types.add(type(type.asText()));
                }
                Class<?> owner = Class.forName(name, false, NativeImageConfigTest.class.getClassLoader());
                owner.getDeclaredConstructor(types.toArray(Class<?>[]::new)); // throws if ONNX Runtime changed it
                String signature = types.stream().map(NativeImageConfigTest::descriptor)
                        .collect(Collectors.joining("", "(", ")V"));
                registeredConstructors.add(signature);
                registeredByClass.computeIfAbsent(name, c -> new TreeSet<>()).add(signature);
            }
        }
        assertThat(registered).containsAll(classes);
        assertThat(registeredConstructors).containsAll(constructors);
        // and each on the class that has it: a signature registered on another class is no registration
        assertThat(signaturesByClass).as("signatures by the class named before them")
                .containsKeys("ai.onnxruntime.TensorInfo", "ai.onnxruntime.OnnxTensor", "ai.onnxruntime.OrtException");
        signaturesByClass.forEach((owner, signatures) -> assertThat(registeredByClass.getOrDefault(owner, Set.of()))
                .as("constructors of %s registered for JNI", owner).containsAll(signatures));
    }

    @Test
    void reflectConfigNamesMembersThatExist() throws Exception {
        JsonNode config = new ObjectMapper().readTree(
                Path.of("src/main/resources/META-INF/native-image/io.sluice/sluice/reflect-config.json").toFile());
        int checked = 0;
        for (JsonNode entry : config) {
            Class<?> owner = type(entry.get("name").asText());
            for (JsonNode field : entry.path("fields")) {
                owner.getDeclaredField(field.get("name").asText()); // throws if a jar changed it
                checked++;
            }
            for (JsonNode method : entry.path("methods")) {
                String name = method.get("name").asText();
                if (owner == Float.class && Runtime.version().feature() < 20) {
                    continue; // Float.float16ToFloat and floatToFloat16 exist from JDK 20, the native builder's 25
                }
                List<Class<?>> types = new ArrayList<>();
                for (JsonNode type : method.get("parameterTypes")) {
                    types.add(type(type.asText()));
                }
                Class<?>[] parameters = types.toArray(Class<?>[]::new);
                if (name.equals("<init>")) {
                    owner.getDeclaredConstructor(parameters);
                } else {
                    owner.getDeclaredMethod(name, parameters);
                }
                checked++;
            }
        }
        assertThat(checked).as("members checked").isGreaterThanOrEqualTo(10);
    }

    private static Class<?> type(String name) throws ClassNotFoundException {
        if (name.endsWith("[]")) {
            return type(name.substring(0, name.length() - 2)).arrayType();
        }
        return switch (name) {
            case "int" -> int.class;
            case "long" -> long.class;
            case "short" -> short.class;
            case "float" -> float.class;
            case "double" -> double.class;
            case "boolean" -> boolean.class;
            case "byte" -> byte.class;
            case "char" -> char.class;
            default -> Class.forName(name, false, NativeImageConfigTest.class.getClassLoader());
        };
    }

    private static String descriptor(Class<?> type) {
        return type.describeConstable().orElseThrow().descriptorString();
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
