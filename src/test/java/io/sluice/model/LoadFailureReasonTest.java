package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A FAILED version's reason says what happened to a file, not just its path. */
class LoadFailureReasonTest {

    @Test
    void aFileGoneSinceTheScanIsNamedAsMissing(@TempDir Path repo) {
        Path gone = repo.resolve("m/1/model.onnx");
        Throwable e = catchThrowable(() -> gone.toRealPath());

        assertThat(ModelLoader.reason(e)).isEqualTo("no such file: " + gone);
        assertThat(ModelLoader.reason(new UncheckedIOException((java.io.IOException) e))).isEqualTo("no such file: " + gone);
    }

    @Test
    void otherFailuresKeepTheirMessage() {
        assertThat(ModelLoader.reason(new IllegalStateException("input 'A' cannot be fed"))).isEqualTo("input 'A' cannot be fed");
        assertThat(ModelLoader.reason(new OutOfMemoryError())).isEqualTo("OutOfMemoryError");
    }
}
