package io.sluice.model;

import java.nio.file.Path;

/**
 * A model version found in a repository.
 *
 * @param name model name (a validated directory name)
 * @param version positive integer version
 * @param file the {@code model.onnx} file
 */
public record ModelSource(String name, long version, Path file) {}
