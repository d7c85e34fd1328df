package io.sluice.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Reads one counter out of the server's Prometheus scrape ({@code GET /q/metrics} on 127.0.0.1). */
final class ServerMetrics {
    /** Rate-limit takes that used the local fallback bucket because Redis was unreachable or slow. */
    static final String RATE_LIMIT_FALLBACKS = "sluice_rate_limit_fallbacks_total";

    /**
     * One scrape: {@code ok} when the server answered 200, {@code present} when the counter was in it
     * (the server registers it at the first fallback, so absent means 0), its value summed over labels.
     */
    record Scrape(boolean ok, boolean present, double value, String error) {
        String label() {
            if (!ok) {
                return "scrape failed (" + error + ")";
            }
            return present ? String.valueOf((long) value) : "0 (absent)";
        }
    }

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();
    private final URI uri;

    ServerMetrics(int port) {
        this.uri = URI.create("http://" + Settings.HOST + ":" + port + "/q/metrics");
    }

    Scrape scrape(String counter) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return new Scrape(false, false, 0, "HTTP " + r.statusCode());
            }
            return parse(r.body(), counter);
        } catch (java.io.IOException e) {
            return new Scrape(false, false, 0, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Scrape(false, false, 0, "interrupted");
        }
    }

    /** Sums the samples of {@code counter} (any labels) in a Prometheus text exposition. */
    static Scrape parse(String body, String counter) {
        boolean present = false;
        double sum = 0;
        for (String line : body.split("\n")) {
            if (!line.startsWith(counter)) {
                continue;
            }
            String rest = line.substring(counter.length());
            if (!rest.startsWith(" ") && !rest.startsWith("{")) {
                continue; // another metric with this prefix
            }
            int close = rest.lastIndexOf('}');
            String[] fields = (close >= 0 ? rest.substring(close + 1) : rest).trim().split("\\s+");
            try {
                sum += Double.parseDouble(fields[0]);
                present = true;
            } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                // not a sample line
            }
        }
        return new Scrape(true, present, sum, null);
    }
}
