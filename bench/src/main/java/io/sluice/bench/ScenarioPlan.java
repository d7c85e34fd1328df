package io.sluice.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** The default scenario set, and the selection that {@code --scenarios} makes from it. */
final class ScenarioPlan {

    /** For each MiniLM workload: saturated over all protocols, c=1 and open loop at 80% of raw over gRPC. */
    static List<String> defaultSpecs() {
        List<String> specs = new ArrayList<>();
        for (String w : List.of("fp32-s128", "int8-s128", "fp32-s32")) {
            specs.add(w + ":grpc:c16");
            specs.add(w + ":rest-bin:c16");
            specs.add(w + ":rest-json:c16");
            specs.add(w + ":grpc:c1");
            specs.add(w + ":grpc:o80");
        }
        specs.add("tiny-add:grpc:c1");
        specs.add("tiny-add:rest-bin:c1");
        return specs;
    }

    /**
     * {@code selection}: "default" (or empty) for the default set; otherwise a comma list whose items are
     * specs ({@code a:b:c}) or globs over the default names ({@code *} wildcard, e.g. {@code fp32-s128-*}).
     */
    static List<Scenario> select(String selection, Settings settings) {
        Map<String, Scenario> defaults = new LinkedHashMap<>();
        for (String spec : defaultSpecs()) {
            Scenario s = Scenario.parse(spec, settings);
            defaults.put(s.name(), s);
        }
        Map<String, Scenario> chosen = new LinkedHashMap<>();
        if (selection == null || selection.isBlank() || selection.trim().equals("default")) {
            chosen.putAll(defaults);
        } else {
            for (String item : selection.split(",")) {
                item = item.trim();
                if (item.isEmpty()) {
                    continue;
                }
                if (item.contains(":")) {
                    Scenario s = Scenario.parse(item, settings);
                    chosen.putIfAbsent(s.name(), s);
                    continue;
                }
                Pattern glob = Pattern.compile(("\\Q" + item + "\\E").replace("*", "\\E.*\\Q"));
                int before = chosen.size();
                defaults.values().stream().filter(s -> glob.matcher(s.name()).matches())
                        .forEach(s -> chosen.putIfAbsent(s.name(), s));
                if (chosen.size() == before) {
                    throw new IllegalArgumentException("'" + item + "' matches no default scenario; defaults: "
                            + String.join(", ", defaults.keySet()));
                }
            }
        }
        List<Scenario> out = new ArrayList<>(chosen.values());
        if (settings.skipTiny) {
            out.removeIf(s -> s.workload().isTiny());
        }
        return out;
    }

    /** The distinct workloads of {@code scenarios}, in first-seen order. */
    static List<Workload> workloads(List<Scenario> scenarios) {
        Map<String, Workload> byKey = new LinkedHashMap<>();
        scenarios.forEach(s -> byKey.putIfAbsent(s.workload().key, s.workload()));
        return new ArrayList<>(byKey.values());
    }
}
