package io.sluice.api;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;
import java.util.zip.ZipException;

/**
 * Reads compressed request data, REST bodies ({@code Content-Encoding}) and gRPC messages ({@code grpc-encoding})
 * alike, exactly: the data must end where its coding says it ends. The JDK's {@code GZIPInputStream} takes bytes after
 * the last gzip member that are no member as the end of the data, and {@code InflaterInputStream} stops at the end of
 * the deflate stream whatever follows, so a body with garbage after it was read as if it had none. Here such bytes are
 * a {@link ZipException} naming how many there are. Closing a stream ends its {@link Inflater}.
 */
public final class Inflating {

    private Inflating() {}

    /**
     * gzip data (RFC 1952) in {@code bytes[at, at + length)}: one member or more, each one's header, CRC-32 and size
     * checked, and nothing after the last.
     */
    public static InputStream gzip(byte[] bytes, int at, int length) throws IOException {
        Objects.checkFromIndexSize(at, length, bytes.length);
        return new GzipMembers(bytes, at, length);
    }

    /**
     * Deflate data in {@code bytes[at, at + length)}, with the zlib wrapper (RFC 1950) or, with {@code raw}, without
     * (RFC 1951), and nothing after its end.
     */
    public static InputStream deflate(byte[] bytes, int at, int length, boolean raw) {
        Objects.checkFromIndexSize(at, length, bytes.length);
        ByteArrayInputStream source = new ByteArrayInputStream(bytes, at, length);
        Inflater inflater = new Inflater(raw);
        return new InflaterInputStream(source, inflater) {
            private boolean closed;

            @Override
            public int read(byte[] out, int off, int len) throws IOException {
                int n = super.read(out, off, len);
                if (n < 0 && !inflater.finished()) { // the stream's end without the data's: zlib's FDICT
                    throw new ZipException("deflate data that needs a preset dictionary, which a request cannot give");
                }
                if (n < 0 && inflater.getRemaining() + source.available() > 0) {
                    throw new ZipException(after(inflater.getRemaining() + source.available(), "deflate"));
                }
                return n;
            }

            @Override
            public void close() throws IOException {
                if (!closed) {
                    closed = true;
                    inflater.end(); // an InflaterInputStream does not end an inflater it was given
                }
                super.close();
            }
        };
    }

    private static String after(int bytes, String coding) {
        return bytes + (bytes == 1 ? " byte" : " bytes") + " after the " + coding + " data";
    }

    /** {@link #after}, then that they are not a gzip member. */
    private static String noMember(int bytes) {
        return after(bytes, "gzip") + (bytes == 1 ? " is" : " are") + " not another gzip member";
    }

    /** gzip members one after another, inflated with one raw {@link Inflater}. */
    private static final class GzipMembers extends InputStream {
        private static final int FHCRC = 2;
        private static final int FEXTRA = 4;
        private static final int FNAME = 8;
        private static final int FCOMMENT = 16;
        private static final int RESERVED = 0xE0;

        private final byte[] bytes;
        private final int end;
        private final Inflater inflater = new Inflater(true);
        private final CRC32 crc = new CRC32();
        /** Where the member being read starts its deflate data, then (at its end) its trailer. */
        private int at;
        private long size;
        private boolean done;
        private boolean closed;

        GzipMembers(byte[] bytes, int at, int length) throws IOException {
            this.bytes = bytes;
            this.at = at;
            this.end = at + length;
            try {
                header(true);
            } catch (IOException | RuntimeException e) {
                inflater.end();
                throw e;
            }
        }

        private int u8(int i) throws EOFException {
            if (i >= end) {
                throw new EOFException("Unexpected end of gzip data");
            }
            return bytes[i] & 0xff;
        }

        private int u16(int i) throws EOFException {
            return u8(i) | u8(i + 1) << 8;
        }

        private long u32(int i) throws EOFException {
            return (long) u16(i) | (long) u16(i + 2) << 16;
        }

        private void header(boolean first) throws IOException {
            int start = at;
            if (end - at < 2 || (bytes[at] & 0xff) != 0x1f || (bytes[at + 1] & 0xff) != 0x8b) {
                throw new ZipException(first ? "Not in GZIP format" : noMember(end - at));
            }
            if (u8(at + 2) != 8) {
                throw new ZipException("Unsupported compression method");
            }
            int flags = u8(at + 3);
            if ((flags & RESERVED) != 0) { // RFC 1952: a reader must refuse them (zlib does; the JDK did not look)
                throw new ZipException("gzip header flags " + flags + " set reserved bits");
            }
            int i = at + 10; // after the method, the flags, the time, the extra flags and the system
            u8(i - 1); // those ten bytes are there (an EOFException if not)
            if ((flags & FEXTRA) != 0) {
                i += 2 + u16(i);
            }
            if ((flags & FNAME) != 0) {
                i = afterZero(i);
            }
            if ((flags & FCOMMENT) != 0) {
                i = afterZero(i);
            }
            if ((flags & FHCRC) != 0) {
                CRC32 headerCrc = new CRC32();
                headerCrc.update(bytes, start, Math.min(i, end) - start);
                if ((headerCrc.getValue() & 0xffff) != u16(i)) {
                    throw new ZipException("Corrupt GZIP header");
                }
                i += 2;
            }
            if (i > end) {
                throw new EOFException("Unexpected end of gzip data");
            }
            at = i;
            inflater.reset();
            inflater.setInput(bytes, at, end - at);
            crc.reset();
            size = 0;
        }

        private int afterZero(int i) throws EOFException {
            while (u8(i) != 0) {
                i++;
            }
            return i + 1;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] out, int off, int len) throws IOException {
            if (closed) {
                throw new IOException("Stream closed");
            }
            if (done) {
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            while (true) {
                int n;
                try {
                    n = inflater.inflate(out, off, len);
                } catch (DataFormatException e) {
                    throw new ZipException(e.getMessage() == null ? "Invalid ZLIB data format" : e.getMessage());
                }
                if (n > 0) {
                    crc.update(out, off, n);
                    size += n;
                    return n;
                }
                if (!inflater.finished()) { // no output and not at the end: the data stops inside the member
                    throw new EOFException("Unexpected end of ZLIB input stream");
                }
                at = end - inflater.getRemaining();
                if (u32(at) != crc.getValue() || u32(at + 4) != (size & 0xffff_ffffL)) {
                    throw new ZipException("Corrupt GZIP trailer");
                }
                at += 8;
                if (at == end) {
                    done = true;
                    return -1;
                }
                header(false);
            }
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                inflater.end();
            }
        }
    }
}
