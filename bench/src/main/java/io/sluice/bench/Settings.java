package io.sluice.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Command-line options ({@code --name value} or {@code --name=value}), with their defaults. */
final class Settings {
    /** The only address the bench ever talks to. */
    static final String HOST = "127.0.0.1";

    int port = 8080;
    int grpcPort = -1;
    double warmupSeconds = 5;
    double serverWarmupSeconds = 150;
    double durationSeconds = 15;
    double timeoutSeconds = 30;
    double rawWarmupSeconds = 3;
    double rawDurationSeconds = 10;
    double rawBracketSeconds = 5;
    String scenarios = "default";
    Path out = Path.of("bench/results/latest");
    Path raw;
    List<Path> modelRepos = List.of(Path.of("target/model-repository"), Path.of("bench/results/models"));
    String fp32Model = "all-minilm-l6-v2";
    String int8Model = "all-minilm-l6-v2-int8";
    String tinyAddModel = "add";
    String tinyIdentityModel = "identity_fp32";
    int openMaxInFlight = 64;
    long maxRequests = 5_000_000;
    int grpcChannels = 1;
    String grpcClient = "lean";
    boolean skipTiny;
    ServerLayout serverLayout = ServerLayout.DEFAULT;

    // overload, redis-outage (see Overload, RedisOutage)
    String workload = "fp32-s128";
    String protocol = "grpc";
    int concurrency = 16;
    double loadFraction = 0.8;
    double overloadFactor = 5;
    double overloadSeconds = 60;
    double overloadWarmupSeconds = 30;
    double recoverySeconds = 10;
    int overloadWorkers = 0;
    double workerSeconds = 1.0;
    double bucketSeconds = 0.25;
    double redisSeconds = 30;
    double redisRate = 20;
    double redisWarmupSeconds = 3;
    int redisPort = -1;
    String serverOptions = "";

    /** Whether the measured gRPC calls go through {@link H2GrpcConnection} rather than grpc-java. */
    boolean leanGrpc() {
        return grpcClient.equals("lean");
    }

    static final String USAGE = String.join("\n",
            "usage: java -jar sluice-bench.jar <list|raw|load|overload|redis-outage|overload-report> [options]",
            "  list   print the selected scenarios",
            "  raw    raw ONNX Runtime baseline for the selected scenarios' workloads; writes <out>/raw.json",
            "  load   run the scenarios against a running server; writes table.txt, results.json, results.csv",
            "  overload         saturation, 80% load, overload and recovery against a running server; writes",
            "                   <out>/overload.json (bench/overload.sh runs all three overload commands)",
            "  redis-outage     starts redis-server on --redis-port, runs an open loop at 3x --redis-rate against a",
            "                   server rate limiting in that Redis, stops Redis for the middle third; <out>/redis.json",
            "  overload-report  prints and writes <out>/table.txt from overload.json and redis.json",
            "options (defaults in brackets):",
            "  --port N               server HTTP port [8080]",
            "  --grpc-port N          gRPC port [same as --port]",
            "  --warmup S             warm-up seconds per scenario [5]",
            "  --server-warmup S      load: before the first scenario, every workload/protocol pair of the\n"
            + "                         closed-loop scenarios at c=4, S seconds in all, unrecorded, so the\n"
            + "                         server's JIT is warm for the first scenario as for the last [150]",
            "  --duration S           measured seconds per scenario [15]",
            "  --timeout S            per-request timeout [30]",
            "  --raw-warmup S         raw baseline warm-up seconds per layout [3]",
            "  --raw-duration S       raw baseline measured seconds per layout [10]",
            "  --raw-bracket S        load: around each closed-loop scenario, raw for S s before and after (after",
            "                         2 s warm-up): c=1 with the server's intra-op for c=1, for c>1 the best of",
            "                         the layouts within 10% of the best at the start; 'vs raw' uses their mean;",
            "                         0 = off [5]",
            "  --scenarios LIST       'default', or comma list of default-name globs and/or specs",
            "                         <workload>:<protocol>:<load>, e.g. fp32-s64:rest-json:c4,int8-s32:grpc:o50",
            "  --out DIR              results directory [bench/results/latest]",
            "  --raw FILE             raw.json to compare against (load) [<out>/raw.json]",
            "  --model-repos A,B      repositories holding <model>/1/model.onnx for the raw baseline",
            "  --fp32-model NAME      [all-minilm-l6-v2]    --int8-model NAME [all-minilm-l6-v2-int8]",
            "  --tiny-add-model NAME  [add]                 --tiny-identity-model NAME [identity_fp32]",
            "  --skip-tiny            drop tiny-model scenarios (e.g. the tiny models are missing)",
            "  --server-intra-op LIST the server's intra-op threads per model, model=N,... [every model "
                    + ServerLayout.DEFAULT_INTRA_OP + "];",
            "                         raw measures c=1 with it, latency 'vs raw' compares with it",
            "  --open-max-inflight N  open loop: most requests outstanding at once [64]",
            "  --max-requests N       cap on requests per scenario [5000000]",
            "  --grpc-channels N      gRPC connections shared by the workers [1]",
            "  --grpc-client C        lean (HTTP/2 on Netty, answers read, not decoded) | grpc-java [lean]",
            "overload / redis-outage options:",
            "  --workload KEY         [fp32-s128]           --protocol grpc|rest-bin|rest-json [grpc]",
            "  --concurrency N        saturation: closed-loop workers [16]",
            "  --load-fraction F      the moderate load, a fraction of the saturated goodput X [0.8]",
            "  --overload-factor F    the overload, a multiple of X [5]",
            "  --overload-seconds S   [60]                  --recovery-seconds S [10]",
            "  --overload-warmup S    after saturation, S s at the overload rate (then as long at the moderate",
            "                         load), reported but not judged, so the JIT has compiled the rejection",
            "                         path before the measured overload; 0 = off [30]",
            "  --overload-workers N   open-loop workers [0 = max(64, rate x --worker-seconds)]",
            "  --worker-seconds S     see --overload-workers [1.0]",
            "  --bucket-seconds S     timeline bucket [0.25]",
            "  --redis-port N         port of the redis-server the bench starts (the server must use it)",
            "  --redis-rate L         the server's sluice.rate-limit.default.rate (and burst) [20]",
            "  --redis-seconds S      whole Redis run; Redis is down for the middle third [30]",
            "  --redis-warmup S       open loop before the Redis run, Redis up [3]",
            "  --server-opts TEXT     the server's extra options, only recorded with the results");

    static Settings parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        for (int i = 0; i < rest.size(); i++) {
            String arg = rest.get(i);
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'\n" + USAGE);
            }
            int eq = arg.indexOf('=');
            if (eq > 0) {
                options.put(arg.substring(2, eq), arg.substring(eq + 1));
            } else if (arg.equals("--skip-tiny")) {
                options.put("skip-tiny", "true");
            } else if (i + 1 < rest.size()) {
                options.put(arg.substring(2), rest.get(++i));
            } else {
                throw new IllegalArgumentException("missing value for " + arg);
            }
        }
        Settings s = new Settings();
        options.forEach(s::set);
        if (s.grpcPort < 0) {
            s.grpcPort = s.port;
        }
        if (s.raw == null) {
            s.raw = s.out.resolve("raw.json");
        }
        return s;
    }

    private void set(String name, String value) {
        switch (name) {
            case "port": port = Integer.parseInt(value); break;
            case "grpc-port": grpcPort = Integer.parseInt(value); break;
            case "warmup": warmupSeconds = Double.parseDouble(value); break;
            case "server-warmup": serverWarmupSeconds = Double.parseDouble(value); break;
            case "duration": durationSeconds = Double.parseDouble(value); break;
            case "timeout": timeoutSeconds = Double.parseDouble(value); break;
            case "raw-warmup": rawWarmupSeconds = Double.parseDouble(value); break;
            case "raw-duration": rawDurationSeconds = Double.parseDouble(value); break;
            case "raw-bracket": rawBracketSeconds = Double.parseDouble(value); break;
            case "scenarios": scenarios = value; break;
            case "out": out = Path.of(value); break;
            case "raw": raw = Path.of(value); break;
            case "model-repos":
                modelRepos = Arrays.stream(value.split(",")).filter(v -> !v.isBlank()).map(Path::of)
                        .collect(Collectors.toList());
                break;
            case "fp32-model": fp32Model = value; break;
            case "int8-model": int8Model = value; break;
            case "tiny-add-model": tinyAddModel = value; break;
            case "tiny-identity-model": tinyIdentityModel = value; break;
            case "skip-tiny": skipTiny = Boolean.parseBoolean(value); break;
            case "server-intra-op": serverLayout = ServerLayout.parse(value); break;
            case "open-max-inflight": openMaxInFlight = Integer.parseInt(value); break;
            case "max-requests": maxRequests = Long.parseLong(value); break;
            case "grpc-channels": grpcChannels = Integer.parseInt(value); break;
            case "grpc-client":
                if (!value.equals("lean") && !value.equals("grpc-java")) {
                    throw new IllegalArgumentException("--grpc-client must be lean or grpc-java, not " + value);
                }
                grpcClient = value;
                break;
            case "workload": workload = value; break;
            case "protocol": protocol = Protocol.parse(value).label; break;
            case "concurrency": concurrency = Integer.parseInt(value); break;
            case "load-fraction": loadFraction = Double.parseDouble(value); break;
            case "overload-factor": overloadFactor = Double.parseDouble(value); break;
            case "overload-seconds": overloadSeconds = Double.parseDouble(value); break;
            case "overload-warmup": overloadWarmupSeconds = Double.parseDouble(value); break;
            case "recovery-seconds": recoverySeconds = Double.parseDouble(value); break;
            case "overload-workers": overloadWorkers = Integer.parseInt(value); break;
            case "worker-seconds": workerSeconds = Double.parseDouble(value); break;
            case "bucket-seconds": bucketSeconds = Double.parseDouble(value); break;
            case "redis-port": redisPort = Integer.parseInt(value); break;
            case "redis-rate": redisRate = Double.parseDouble(value); break;
            case "redis-seconds": redisSeconds = Double.parseDouble(value); break;
            case "redis-warmup": redisWarmupSeconds = Double.parseDouble(value); break;
            case "server-opts": serverOptions = value; break;
            default: throw new IllegalArgumentException("unknown option --" + name + "\n" + USAGE);
        }
    }

    static long nanos(double seconds) {
        return (long) (seconds * 1e9);
    }
}
