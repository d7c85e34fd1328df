package io.sluice.config;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Which versions of a model found in the repository are served, as Triton's {@code version_policy}: every
 * one ({@code all}, Sluice's default, so a broken new version leaves the one before it serving), the
 * {@code latest:N} highest numbers ({@code latest} alone is {@code latest:1}, Triton's default), or {@code
 * specific:1,3}. The others are never loaded.
 *
 * @param kind which rule
 * @param count for {@code latest}: how many of the highest versions
 * @param versions for {@code specific}: the versions named
 */
public record VersionPolicy(Kind kind, int count, Set<Long> versions) {

    /** The rules. */
    public enum Kind {
        ALL,
        LATEST,
        SPECIFIC
    }

    /** Every version found. */
    public static final VersionPolicy ALL = new VersionPolicy(Kind.ALL, 0, Set.of());

    private static final Pattern NUMBER = Pattern.compile("[1-9][0-9]{0,17}");

    public VersionPolicy {
        versions = Set.copyOf(versions);
        if (kind == Kind.LATEST && count < 1 || kind == Kind.SPECIFIC && versions.isEmpty()) {
            throw new IllegalArgumentException("version-policy " + kind + " needs a count >= 1 or a version");
        }
    }

    /**
     * Reads {@code all}, {@code latest}, {@code latest:N} or {@code specific:V[,V...]}.
     *
     * @throws IllegalArgumentException naming the setting and what it accepts
     */
    public static VersionPolicy parse(String text) {
        String t = text.trim();
        if (t.equals("all")) {
            return ALL;
        }
        if (t.equals("latest")) {
            return new VersionPolicy(Kind.LATEST, 1, Set.of());
        }
        if (t.startsWith("latest:") && NUMBER.matcher(t.substring("latest:".length()).trim()).matches()) {
            long n = Long.parseLong(t.substring("latest:".length()).trim());
            return new VersionPolicy(Kind.LATEST, (int) Math.min(Integer.MAX_VALUE, n), Set.of());
        }
        if (t.startsWith("specific:")) {
            List<String> numbers = Arrays.stream(t.substring("specific:".length()).split(",", -1)).map(String::trim).toList();
            if (numbers.stream().allMatch(v -> NUMBER.matcher(v).matches())) {
                return new VersionPolicy(Kind.SPECIFIC, 0,
                        numbers.stream().map(Long::parseLong).collect(Collectors.toSet()));
            }
        }
        throw new IllegalArgumentException("version-policy must be all, latest, latest:N (N >= 1) or specific:V[,V...]"
                + " (positive version numbers, as the version directories are named), was '" + text + "'");
    }

    /** The versions served out of {@code found}, a model's version numbers; in ascending order. */
    public List<Long> select(Iterable<Long> found) {
        TreeSet<Long> all = new TreeSet<>();
        found.forEach(all::add);
        return switch (kind) {
            case ALL -> List.copyOf(all);
            case LATEST -> all.descendingSet().stream().limit(count).sorted().toList();
            case SPECIFIC -> all.stream().filter(versions::contains).toList();
        };
    }

    @Override
    public String toString() {
        return switch (kind) {
            case ALL -> "all";
            case LATEST -> "latest:" + count;
            case SPECIFIC -> "specific:" + new TreeSet<>(versions).stream().map(String::valueOf)
                    .collect(Collectors.joining(","));
        };
    }
}
