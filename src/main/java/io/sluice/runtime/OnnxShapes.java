package io.sluice.runtime;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Reads from an ONNX file which graph inputs and outputs declare no shape at all, so any rank. ONNX Runtime's API
 * cannot tell: it reports such a tensor with no dimensions, as it reports a scalar, so requests of any other rank
 * were refused. The file is streamed and everything but the graph's input and output declarations is skipped (the
 * weights too), so a large model costs a read of its file and no memory.
 */
final class OnnxShapes {

    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    private static final int VALUE_INFO_NAME = 1;
    private static final int VALUE_INFO_TYPE = 2;
    private static final int TYPE_TENSOR = 1;
    private static final int TENSOR_SHAPE = 2;

    private OnnxShapes() {
    }

    /**
     * The names of the graph inputs and outputs in {@code file} whose tensor type has no shape; empty when the file
     * cannot be read as ONNX here (ONNX Runtime then says what is wrong with it).
     */
    static Set<String> withoutShape(Path file) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 64 * 1024)) {
            CodedInputStream model = CodedInputStream.newInstance(in);
            Set<String> names = new HashSet<>();
            for (int tag = model.readTag(); tag != 0; tag = model.readTag()) {
                if (WireFormat.getTagFieldNumber(tag) == MODEL_GRAPH && lengthDelimited(tag)) {
                    int limit = model.pushLimit(model.readRawVarint32());
                    graph(model, names);
                    model.popLimit(limit);
                } else {
                    model.skipField(tag);
                }
            }
            return names;
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    private static void graph(CodedInputStream graph, Set<String> names) throws IOException {
        for (int tag = graph.readTag(); tag != 0; tag = graph.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if ((field == GRAPH_INPUT || field == GRAPH_OUTPUT) && lengthDelimited(tag)) {
                valueInfo(CodedInputStream.newInstance(graph.readByteArray()), names);
            } else {
                graph.skipField(tag); // the nodes and the weights
            }
        }
    }

    private static void valueInfo(CodedInputStream info, Set<String> names) throws IOException {
        String name = null;
        boolean tensor = false;
        boolean shaped = false;
        for (int tag = info.readTag(); tag != 0; tag = info.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == VALUE_INFO_NAME && lengthDelimited(tag)) {
                name = info.readStringRequireUtf8();
            } else if (field == VALUE_INFO_TYPE && lengthDelimited(tag)) {
                CodedInputStream type = CodedInputStream.newInstance(info.readByteArray());
                for (int t = type.readTag(); t != 0; t = type.readTag()) {
                    if (WireFormat.getTagFieldNumber(t) == TYPE_TENSOR && lengthDelimited(t)) {
                        tensor = true;
                        shaped = hasShape(CodedInputStream.newInstance(type.readByteArray()));
                    } else {
                        type.skipField(t);
                    }
                }
            } else {
                info.skipField(tag);
            }
        }
        if (name != null && tensor && !shaped) {
            names.add(name);
        }
    }

    private static boolean hasShape(CodedInputStream tensorType) throws IOException {
        boolean shaped = false;
        for (int tag = tensorType.readTag(); tag != 0; tag = tensorType.readTag()) {
            shaped |= WireFormat.getTagFieldNumber(tag) == TENSOR_SHAPE;
            tensorType.skipField(tag);
        }
        return shaped;
    }

    private static boolean lengthDelimited(int tag) {
        return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }
}
