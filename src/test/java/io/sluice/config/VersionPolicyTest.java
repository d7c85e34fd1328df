package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Triton's version policies, as a setting: which of a model's versions are served. */
class VersionPolicyTest {

    private static final List<Long> FOUND = List.of(3L, 1L, 7L, 2L);

    @Test
    void allServesEveryVersionLatestTheHighestAndSpecificThoseNamed() {
        assertThat(VersionPolicy.parse("all").select(FOUND)).containsExactly(1L, 2L, 3L, 7L);
        assertThat(VersionPolicy.parse("latest").select(FOUND)).containsExactly(7L);
        assertThat(VersionPolicy.parse("latest:2").select(FOUND)).containsExactly(3L, 7L);
        assertThat(VersionPolicy.parse("latest:9").select(FOUND)).containsExactly(1L, 2L, 3L, 7L);
        assertThat(VersionPolicy.parse(" specific: 2, 7 ,5").select(FOUND)).containsExactly(2L, 7L);
        assertThat(VersionPolicy.parse("specific:5").select(FOUND)).isEmpty();
    }

    @Test
    void itReadsBackAsWritten() {
        for (String text : List.of("all", "latest:1", "latest:3", "specific:1,3")) {
            assertThat(VersionPolicy.parse(text)).hasToString(text);
        }
        assertThat(VersionPolicy.parse("specific:3,1")).hasToString("specific:1,3");
    }

    @Test
    void anythingElseIsRefusedSayingWhatItTakes() {
        for (String bad : List.of("", "newest", "latest:0", "latest:-1", "latest:x", "specific:", "specific:0",
                "specific:1,,2", "specific:a", "latest:+2", "specific:+3", "specific:01", "ALL", "specific:1,")) {
            assertThatThrownBy(() -> VersionPolicy.parse(bad)).as("'%s'", bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("version-policy must be all, latest, latest:N (N >= 1) or specific:V[,V...]")
                    .hasMessageContaining("'" + bad + "'");
        }
    }
}
