package io.sluice.bench;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * A minimal blocking HTTP/1.1 keep-alive client over one socket: one connection per worker, the whole
 * request written with one call, the response read into a reused buffer. It understands what a server
 * answers with: Content-Length or chunked bodies, {@code Connection: close}, and the
 * {@code Inference-Header-Content-Length} header of the binary tensor extension. Not thread-safe.
 */
final class Http1Connection implements AutoCloseable {
    private final String host;
    private final int port;
    private final int timeoutMillis;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private final StringBuilder line = new StringBuilder(128);
    /** Read buffer, unsynchronized (BufferedInputStream locks on every read). */
    private final byte[] buffer = new byte[64 * 1024];
    private int position;
    private int limit;

    /** The last response: status, body bytes {@code [0, bodyLength)}, binary header length or -1. */
    int status;
    byte[] body = new byte[64 * 1024];
    int bodyLength;
    int inferenceHeaderLength;
    String contentType;
    /** Whether the last response had {@code Retry-After}, {@code RateLimit}, {@code RateLimit-Policy}. */
    boolean hasRetryAfter;
    long retryAfterSeconds;
    boolean hasRateLimit;
    boolean hasRateLimitPolicy;

    Http1Connection(String host, int port, int timeoutMillis) {
        this.host = host;
        this.port = port;
        this.timeoutMillis = timeoutMillis;
    }

    /** Builds the bytes of a POST with the given extra header lines (each without CRLF). */
    static byte[] post(String host, int port, String path, String contentType, byte[] body, String... headers) {
        StringBuilder head = new StringBuilder(256)
                .append("POST ").append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(host).append(':').append(port).append("\r\n")
                .append("Content-Type: ").append(contentType).append("\r\n")
                .append("Content-Length: ").append(body.length).append("\r\n");
        for (String h : headers) {
            head.append(h).append("\r\n");
        }
        head.append("\r\n");
        byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
        byte[] request = Arrays.copyOf(headBytes, headBytes.length + body.length);
        System.arraycopy(body, 0, request, headBytes.length, body.length);
        return request;
    }

    /** Sends {@code request} and reads the response; returns the HTTP status or a client {@link Status}. */
    int exchange(byte[] request) {
        try {
            if (socket == null) {
                connect();
            }
            out.write(request);
            out.flush();
            return readResponse();
        } catch (SocketTimeoutException e) {
            close();
            return Status.TIMEOUT;
        } catch (IOException | RuntimeException e) {
            close();
            return Status.IO_ERROR;
        }
    }

    /** Whether the last response, a 429 or 503, said when to come back (429: with the RateLimit fields too). */
    boolean retryHint() {
        if (status == 429) {
            return hasRetryAfter && hasRateLimit && hasRateLimitPolicy;
        }
        return status == 503 && hasRetryAfter;
    }

    /** The last 429 or 503's {@code Retry-After}, in nanoseconds; 0 without one. */
    long retryAfterNanos() {
        return (status == 429 || status == 503) ? TimeUnit.SECONDS.toNanos(retryAfterSeconds) : 0;
    }

    private static long parseSeconds(String value) {
        try {
            return Math.max(0, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private void connect() throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.setKeepAlive(true);
        s.setSoTimeout(timeoutMillis);
        s.connect(new InetSocketAddress(host, port), timeoutMillis);
        socket = s;
        in = s.getInputStream();
        out = s.getOutputStream();
        position = 0;
        limit = 0;
    }

    private int readResponse() throws IOException {
        String statusLine = readLine();
        if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
            throw new IOException("bad status line: " + statusLine);
        }
        status = Integer.parseInt(statusLine.substring(9, 12));
        long contentLength = -1;
        boolean chunked = false;
        boolean closeAfter = statusLine.startsWith("HTTP/1.0");
        inferenceHeaderLength = -1;
        contentType = null;
        hasRetryAfter = false;
        retryAfterSeconds = 0;
        hasRateLimit = false;
        hasRateLimitPolicy = false;
        for (String header = readLine(); !header.isEmpty(); header = readLine()) {
            int colon = header.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = header.substring(colon + 1).trim();
            switch (name) {
                case "content-length":
                    contentLength = Long.parseLong(value);
                    break;
                case "transfer-encoding":
                    chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                    break;
                case "connection":
                    closeAfter = value.equalsIgnoreCase("close");
                    break;
                case "inference-header-content-length":
                    inferenceHeaderLength = Integer.parseInt(value);
                    break;
                case "content-type":
                    contentType = value;
                    break;
                case "retry-after":
                    hasRetryAfter = true;
                    retryAfterSeconds = parseSeconds(value);
                    break;
                case "ratelimit":
                    hasRateLimit = true;
                    break;
                case "ratelimit-policy":
                    hasRateLimitPolicy = true;
                    break;
                default:
                    break;
            }
        }
        bodyLength = 0;
        if (chunked) {
            readChunked();
        } else if (contentLength >= 0) {
            readBody((int) contentLength);
        } else if (status >= 200 && status != 204 && status != 304) {
            readUntilEof();
            closeAfter = true;
        }
        if (closeAfter) {
            close();
        }
        return status;
    }

    private void readChunked() throws IOException {
        while (true) {
            String sizeLine = readLine();
            int semi = sizeLine.indexOf(';');
            int size = Integer.parseInt((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
            if (size == 0) {
                while (!readLine().isEmpty()) {
                    // trailers
                }
                return;
            }
            readBody(size);
            readLine();
        }
    }

    /** Appends exactly {@code n} bytes to the body: what is buffered first, then straight from the socket. */
    private void readBody(int n) throws IOException {
        ensureCapacity(bodyLength + n);
        int end = bodyLength + n;
        int buffered = Math.min(limit - position, n);
        System.arraycopy(buffer, position, body, bodyLength, buffered);
        position += buffered;
        bodyLength += buffered;
        while (bodyLength < end) {
            int r = in.read(body, bodyLength, end - bodyLength);
            if (r < 0) {
                throw new EOFException("connection closed mid-body");
            }
            bodyLength += r;
        }
    }

    private void readUntilEof() throws IOException {
        while (true) {
            if (position < limit) {
                readBody(limit - position);
            }
            ensureCapacity(bodyLength + 8192);
            int r = in.read(body, bodyLength, body.length - bodyLength);
            if (r < 0) {
                return;
            }
            bodyLength += r;
        }
    }

    private int readByte() throws IOException {
        if (position == limit) {
            int r = in.read(buffer, 0, buffer.length);
            if (r < 0) {
                return -1;
            }
            position = 0;
            limit = r;
        }
        return buffer[position++] & 0xff;
    }

    private void ensureCapacity(int n) {
        if (n > body.length) {
            body = Arrays.copyOf(body, Math.max(n, body.length * 2));
        }
    }

    private String readLine() throws IOException {
        line.setLength(0);
        while (true) {
            int c = readByte();
            if (c < 0) {
                throw new EOFException("connection closed");
            }
            if (c == '\n') {
                int len = line.length();
                if (len > 0 && line.charAt(len - 1) == '\r') {
                    line.setLength(len - 1);
                }
                return line.toString();
            }
            line.append((char) c);
        }
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        socket = null;
        in = null;
        out = null;
    }
}
