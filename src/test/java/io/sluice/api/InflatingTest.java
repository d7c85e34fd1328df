package io.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;
import org.junit.jupiter.api.Test;

/** Compressed request data read exactly: what the JDK's streams read, and nothing after the data's end. */
class InflatingTest {

    private static final byte[] TEXT = "{\"inputs\":[{\"name\":\"A\",\"data\":[1,2,3,4]}]}".getBytes(StandardCharsets.UTF_8);
    private static final byte[] GARBAGE = "GARBAGE".getBytes(StandardCharsets.US_ASCII);

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
            out.write(data);
        }
        return bytes.toByteArray();
    }

    private static byte[] deflate(byte[] data, boolean raw) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DeflaterOutputStream out = new DeflaterOutputStream(bytes, new Deflater(6, raw))) {
            out.write(data);
        }
        return bytes.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            bytes.writeBytes(part);
        }
        return bytes.toByteArray();
    }

    private static byte[] read(InputStream in) throws IOException {
        try (in) {
            return in.readAllBytes();
        }
    }

    /**
     * One gzip member written by hand, with the optional header fields {@code flags} asks for (FHCRC 2, FEXTRA 4,
     * FNAME 8, FCOMMENT 16), as other gzip writers than the JDK's send them.
     */
    private static byte[] member(byte[] data, int flags) throws IOException {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        header.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, (byte) flags, 1, 2, 3, 4, 0, 3});
        if ((flags & 4) != 0) {
            header.writeBytes(new byte[] {3, 0, 'x', 'y', 'z'});
        }
        if ((flags & 8) != 0) {
            header.writeBytes("body.json\0".getBytes(StandardCharsets.US_ASCII));
        }
        if ((flags & 16) != 0) {
            header.writeBytes("a comment\0".getBytes(StandardCharsets.US_ASCII));
        }
        if ((flags & 2) != 0) {
            CRC32 crc = new CRC32();
            crc.update(header.toByteArray());
            header.writeBytes(new byte[] {(byte) crc.getValue(), (byte) (crc.getValue() >> 8)});
        }
        CRC32 crc = new CRC32();
        crc.update(data);
        long c = crc.getValue();
        long n = data.length;
        return concat(header.toByteArray(), deflate(data, true), new byte[] {(byte) c, (byte) (c >> 8), (byte) (c >> 16),
            (byte) (c >> 24), (byte) n, (byte) (n >> 8), (byte) (n >> 16), (byte) (n >> 24)});
    }

    @Test
    void gzipReadsWhatTheJdkReadsMembersAndHeaderFieldsIncluded() throws IOException {
        Random random = new Random(7);
        for (int size : new int[] {0, 1, 100, 70_000, 300_000}) {
            byte[] data = new byte[size];
            random.nextBytes(data);
            Arrays.fill(data, 0, size / 2, (byte) 'a'); // half of it compresses
            byte[] gz = gzip(data);
            assertThat(read(Inflating.gzip(gz, 0, gz.length))).isEqualTo(read(new GZIPInputStream(
                    new java.io.ByteArrayInputStream(gz)))).isEqualTo(data);
        }
        byte[] two = concat(gzip(TEXT), gzip(GARBAGE)); // members one after another are one body
        assertThat(read(Inflating.gzip(two, 0, two.length))).isEqualTo(concat(TEXT, GARBAGE));
        for (int flags : new int[] {2, 4, 8, 16, 30}) {
            byte[] gz = member(TEXT, flags);
            assertThat(read(Inflating.gzip(gz, 0, gz.length))).as("flags %d", flags).isEqualTo(TEXT);
        }
        byte[] inside = concat(GARBAGE, gzip(TEXT), GARBAGE); // within a larger array, as a gRPC message is
        assertThat(read(Inflating.gzip(inside, GARBAGE.length, inside.length - 2 * GARBAGE.length))).isEqualTo(TEXT);
    }

    @Test
    void bytesAfterTheLastGzipMemberAreRefusedNotDropped() throws IOException {
        byte[] gz = concat(gzip(TEXT), GARBAGE);
        assertThat(read(new GZIPInputStream(new java.io.ByteArrayInputStream(gz)))).isEqualTo(TEXT); // the JDK drops them
        assertThatThrownBy(() -> read(Inflating.gzip(gz, 0, gz.length))).isInstanceOf(ZipException.class)
                .hasMessage("7 bytes after the gzip data are not another gzip member");
        byte[] one = concat(gzip(TEXT), new byte[] {0x1f});
        assertThatThrownBy(() -> read(Inflating.gzip(one, 0, one.length)))
                .hasMessage("1 byte after the gzip data is not another gzip member");
    }

    @Test
    void brokenGzipIsRefusedAsTheJdkRefusesIt() throws IOException {
        byte[] gz = gzip(TEXT);
        assertThatThrownBy(() -> Inflating.gzip(TEXT, 0, TEXT.length)).isInstanceOf(ZipException.class)
                .hasMessage("Not in GZIP format");
        assertThatThrownBy(() -> read(Inflating.gzip(gz, 0, gz.length - 4))).isInstanceOf(EOFException.class); // size cut
        assertThatThrownBy(() -> read(Inflating.gzip(gz, 0, gz.length - 12))).isInstanceOf(EOFException.class); // data cut
        byte[] badCrc = gz.clone();
        badCrc[gz.length - 8] ^= 1;
        assertThatThrownBy(() -> read(Inflating.gzip(badCrc, 0, badCrc.length))).hasMessage("Corrupt GZIP trailer");
        byte[] badHeaderCrc = member(TEXT, 2);
        badHeaderCrc[10] ^= 1;
        assertThatThrownBy(() -> Inflating.gzip(badHeaderCrc, 0, badHeaderCrc.length)).hasMessage("Corrupt GZIP header");
        byte[] noNameEnd = Arrays.copyOf(member(TEXT, 8), 14); // a file name that never ends
        assertThatThrownBy(() -> Inflating.gzip(noNameEnd, 0, noNameEnd.length)).isInstanceOf(EOFException.class);
        byte[] reserved = gz.clone();
        reserved[3] = (byte) 0x20;
        assertThatThrownBy(() -> Inflating.gzip(reserved, 0, reserved.length)).hasMessage("gzip header flags 32 set reserved bits");
        byte[] method = gz.clone();
        method[2] = 7;
        assertThatThrownBy(() -> Inflating.gzip(method, 0, method.length)).hasMessage("Unsupported compression method");
    }

    @Test
    void deflateReadsZlibAndRawDataAndRefusesBytesAfterIt() throws IOException {
        for (boolean raw : new boolean[] {false, true}) {
            byte[] data = deflate(TEXT, raw);
            assertThat(read(Inflating.deflate(data, 0, data.length, raw))).isEqualTo(TEXT);
            byte[] after = concat(data, GARBAGE);
            assertThatThrownBy(() -> read(Inflating.deflate(after, 0, after.length, raw))).isInstanceOf(ZipException.class)
                    .hasMessage("7 bytes after the deflate data");
            assertThatThrownBy(() -> read(Inflating.deflate(data, 0, data.length - 3, raw))).isInstanceOf(EOFException.class);
        }
        // zlib data made with a preset dictionary: the JDK's stream ends at once, as if the data were empty
        Deflater withDictionary = new Deflater();
        withDictionary.setDictionary("inputs".getBytes(StandardCharsets.US_ASCII));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DeflaterOutputStream out = new DeflaterOutputStream(bytes, withDictionary)) {
            out.write(TEXT);
        }
        withDictionary.end();
        byte[] fdict = bytes.toByteArray();
        assertThat((fdict[1] & 0x20) != 0).isTrue(); // FDICT
        assertThatThrownBy(() -> read(Inflating.deflate(fdict, 0, fdict.length, false))).isInstanceOf(ZipException.class)
                .hasMessage("deflate data that needs a preset dictionary, which a request cannot give");
        assertThatThrownBy(() -> Inflating.gzip(TEXT, 2, TEXT.length)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
