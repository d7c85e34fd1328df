package io.sluice.batching;

import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.jboss.logging.Logger;

/**
 * Runs the batches of one model's {@link ModelScheduler} and answers every request in them, whatever fails: each
 * request gets its own rows; a batch the model refuses for one request's input runs again request by request, so that
 * only that request fails; a runtime failure that may have come from the input is told from the model's own by
 * running a known-good input (a warmup request's); a request found past its deadline in the queue is answered so. The
 * scheduler decides what runs where and when, under its lock; this runs without it.
 */
final class BatchExecutor {

    /** The scheduler's: operators filter its log lines by that category. */
    private static final Logger LOG = Logger.getLogger(ModelScheduler.class);

    private final String model;
    private final BatchRunner runner;
    private final BatchListener listener;
    private final LongSupplier clock;
    private final RunMeters meters;
    /** The scheduler's: 1 for instance i once the {@link CallerWatch} stopped the run a caller makes in its place. */
    private final AtomicIntegerArray overran;
    /** The scheduler's {@code stopBatching}, which takes its lock: never called with it held. */
    private final Consumer<String> stopBatching;
    /** The answer to taken jobs when not even their failure can be made (out of memory). */
    private final InferenceException lastResort;
    /**
     * What a caller hands back with a request whose run the watch stopped: the instance runs it again as it was. Never
     * an answer, but to a request whose instance has ended, which the scheduler answers instead. The one instance,
     * compared by identity.
     */
    final InferenceException movedOff;
    /** Inputs the model has run (a warmup request's); null when none are known. */
    private volatile List<Tensor> knownGood;

    BatchExecutor(String model, BatchRunner runner, BatchListener listener, LongSupplier clock, RunMeters meters,
            AtomicIntegerArray overran, Consumer<String> stopBatching) {
        this.model = model;
        this.runner = runner;
        this.listener = listener;
        this.clock = clock;
        this.meters = meters;
        this.overran = overran;
        this.stopBatching = stopBatching;
        this.lastResort = new InferenceException.RuntimeFailure("model '" + model + "' failed: out of memory", null);
        this.movedOff = new InferenceException.RuntimeFailure("model '" + model + "' overran its run on a caller's thread",
                null);
    }

    /**
     * Logs {@code e} with {@code format}'s instance, {@code model} and error; a log that fails (out of memory) is
     * dropped.
     */
    static void logQuietly(String model, Throwable e, String format, int instance) {
        try {
            LOG.errorf(e, format, instance, model, e.toString());
        } catch (RuntimeException | Error dropped) {
            // the instance must go on answering: a lost log line is the lesser harm
        }
    }

    /** The answer of a job whose deadline passed while it was queued. */
    private InferenceException pastItsDeadline() {
        return new InferenceException.DeadlineExceeded("deadline passed while queued for '" + model + "'");
    }

    /** Fails the jobs found past their deadlines in the queue, each once, even if the clock or a meter throws. */
    void answerExpired(List<Job> expired, int instance) {
        if (expired.isEmpty()) {
            return;
        }
        try {
            long now = clock.getAsLong();
            for (Job job : expired) { // their waits are the longest: the queue-wait histogram keeps them
                count(() -> listener.waited(now - job.enqueuedNanos));
                job.fail(pastItsDeadline());
            }
        } catch (RuntimeException | Error e) { // out of memory: still answered, if without their waits, then logged
            // one answer for all, made once: delivering it allocates nothing that could fail part way through
            InferenceException late = pastItsDeadline();
            for (Job job : expired) {
                job.fail(late); // false, and nothing sent, for those already answered
            }
            logQuietly(model, e, "instance %d of model %s: %s while answering requests past their deadlines", instance);
        } finally {
            expired.clear();
        }
    }

    /**
     * Tells the listener (the meters) something. A listener that throws (a meter out of memory) is logged and
     * ignored: it must neither cost a request its answer nor turn a good run into a failure, nor end the instance.
     */
    private void count(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException | Error e) {
            try {
                LOG.errorf(e, "a meter of model %s failed; the request goes on", model);
            } catch (RuntimeException | Error dropped) {
                // the run's answers come first
            }
        }
    }

    /**
     * Runs one batch and answers each of its jobs. When a batch of several jobs fails because the model
     * refused its input ({@link InferenceException.InvalidInput}: a token id past the vocabulary, say),
     * each job still waiting runs again alone, so that only the request at fault fails, not those it
     * happened to share a batch with. So do they when the model's outputs turn out not to lead with the batch's
     * rows, and the model batches no more. Any other failure (the runtime itself failing) fails the whole batch
     * at once: running it again row by row would only multiply the failure.
     */
    void execute(List<Job> jobs, int instance) {
        execute(jobs, instance, null, false);
    }

    /**
     * {@link #execute(List, int)}, or, {@code failed} not null, its answer to the jobs' first run that failed so, on a
     * caller's thread. {@code onCaller}: on a caller's thread, which neither probes the model nor runs a request
     * again: a failure that takes either is returned, its jobs still running, for an instance to answer; null
     * otherwise. Nothing here allocates before the try, so that taken jobs are answered even out of memory.
     */
    InferenceException execute(List<Job> jobs, int instance, InferenceException failed, boolean onCaller) {
        if (jobs.isEmpty()) {
            return null;
        }
        long rows = 0;
        for (int i = 0; i < jobs.size(); i++) { // by index: no iterator to allocate
            rows += jobs.get(i).rows;
        }
        meters.addRunningRows(rows);
        InferenceException handBack = null;
        try {
            boolean again = failed == movedOff; // a caller's run the watch stopped: it runs here as it was, if still wanted
            InferenceException failure;
            if (again && jobs.get(0).isDone()) { // a caller's run is one request; cancelled meanwhile, it is not run
                failure = null;
            } else if (again && jobs.get(0).expired(clock.getAsLong())) {
                failure = new InferenceException.DeadlineExceeded("deadline passed while '" + model
                        + "' ran it on an event loop, where it was stopped for running too long");
            } else {
                failure = failed != null && !again ? failed : run(jobs, !again, instance);
            }
            if (failure != null && onCaller && overran.get(instance) != 0) {
                handBack = movedOff; // whatever the stopped run's failure says, the request did not fail
            } else if (failure != null && onCaller && takesAnotherRun(failure)) {
                handBack = failure;
            } else if (failure != null) {
                answer(jobs, failure, instance);
            }
        } catch (RuntimeException | Error e) { // past the run's own handling (a listener's failure): still answered
            failUnanswered(jobs, e);
            throw e;
        } finally {
            // only once they are answered, on every path: a shedding model counts admitted requests not running
            // as waiting, and those just finished must not look like a queue until their permits come back
            for (int i = 0; handBack == null && i < jobs.size(); i++) {
                meters.stopRunning(jobs.get(i));
            }
            meters.addRunningRows(-rows);
        }
        return handBack;
    }

    /** Fails the jobs not yet answered with one failure for {@code e}; a fixed one if even that cannot be made. */
    private void failUnanswered(List<Job> jobs, Throwable e) {
        InferenceException failure;
        try {
            failure = new InferenceException.RuntimeFailure("model '" + model + "' failed: " + e, e);
        } catch (RuntimeException | Error again) {
            failure = lastResort;
        }
        for (int i = 0; i < jobs.size(); i++) {
            if (!jobs.get(i).isDone()) {
                jobs.get(i).fail(failure);
            }
        }
    }

    /**
     * Whether answering a lone request's {@code failure} takes another run of the model: a runtime failure the input
     * may have caused is told from the model's own by running the known-good input ({@link #answer}).
     */
    private boolean takesAnotherRun(InferenceException failure) {
        return failure instanceof InferenceException.RuntimeFailure r && r.mayBeTheInput() && knownGood != null
                && !(failure.getCause() instanceof Batches.NotABatch);
    }

    /**
     * Answers {@code jobs}, whose batch failed with {@code failure}: runs them again one by one, or fails them all
     * (see {@link #execute(List, int)}).
     */
    private void answer(List<Job> jobs, InferenceException failure, int instance) {
        boolean notABatch = failure.getCause() instanceof Batches.NotABatch;
        if (notABatch) {
            stopBatching.accept(failure.getCause().getMessage());
        }
        // a kernel's failure after which the model still runs its known-good input, and which comes again when the
        // request runs alone, came from the input (a token sequence past MiniLM's 512 positions fails an Add node,
        // ORT_RUNTIME_EXCEPTION): the client's mistake, which must neither be a 500 nor count towards the circuit
        // breaker that would then turn everyone away. A failure that does not come again is answered by the rerun.
        boolean inputsFault = failure instanceof InferenceException.RuntimeFailure r && r.mayBeTheInput() && !notABatch
                && stillRunsKnownGood(instance);
        if ((failure instanceof InferenceException.InvalidInput || notABatch) && jobs.size() > 1 || inputsFault) {
            LOG.debugf("batch of %d on model %s failed (%s); running its requests one by one", jobs.size(), model,
                    failure.getMessage());
            for (Job job : jobs) {
                if (job.isDone()) {
                    // cancelled meanwhile: counted off already
                } else if (job.expired(clock.getAsLong())) {
                    job.fail(new InferenceException.DeadlineExceeded("deadline passed while '" + model
                            + "' ran a batch that failed"));
                } else {
                    InferenceException alone = run(List.of(job), false, instance);
                    if (alone != null) {
                        job.fail(inputsFault ? inputsFault(alone) : alone);
                    }
                }
                meters.stopRunning(job); // answered, its permit back: the reruns after it are not its wait
            }
        } else if (failure != null) {
            InferenceException answer = inputsFault ? inputsFault(failure) : failure;
            for (Job job : jobs) {
                job.fail(answer);
            }
        }
    }

    /**
     * Gives the model the inputs it is known to run (a warmup request's, copied), which {@link #stillRunsKnownGood}
     * runs again after a runtime failure; null: none (warmup off), and every runtime failure is the model's.
     */
    void knownGood(List<Tensor> inputs) {
        knownGood = inputs == null ? null : List.copyOf(inputs);
    }

    /**
     * Whether the model still runs its known-good inputs, on this instance, now: after a runtime failure, true says
     * the failure came with its input. Not counted as a batch in the meters (it answers no one), but watched as a
     * run; false without them.
     */
    private boolean stillRunsKnownGood(int instance) {
        List<Tensor> inputs = knownGood;
        if (inputs == null) {
            return false;
        }
        // a run as any other for what watches runs (the breaker's view of a hung model, inflight), but no batch
        meters.batchStarted();
        meters.runStarted(instance, clock.getAsLong());
        try {
            runner.run(inputs.stream().map(t -> new Tensor(t.name(), t.datatype(), t.shape(), t.data().duplicate()))
                    .toList(), List.of(), java.util.Collections.singletonList(null));
            return true;
        } catch (RuntimeException | Error e) { // out of memory included: then the model is not known to run
            LOG.debugf("model %s fails its known-good input too (%s): the failure is the model's", model, e.toString());
            return false;
        } finally {
            meters.runEnded(instance);
            meters.batchEnded();
        }
    }

    /** A kernel's failure the input caused: 400 / INVALID_ARGUMENT, not counted by the circuit breaker. */
    private InferenceException inputsFault(InferenceException failure) {
        if (!(failure instanceof InferenceException.RuntimeFailure r) || !r.mayBeTheInput()) {
            return failure; // a rerun alone that failed otherwise (a deadline, memory, a device) says so itself
        }
        String failed = "model '" + model + "' failed: "; // as run() words it
        String what = failure.getMessage() != null && failure.getMessage().startsWith(failed)
                ? failure.getMessage().substring(failed.length()) : failure.getMessage();
        return new InferenceException.InvalidInput("model '" + model + "' could not run this input, though it runs"
                + " its warmup input: " + what);
    }

    /**
     * Runs {@code jobs} as one batch; completes them all and returns null, or returns the failure for the
     * caller. {@code firstRun}: their queue wait is recorded (once per job, not again on a rerun). The run is
     * {@code instance}'s, timed for {@link ModelScheduler#longestRunNanos}.
     */
    private InferenceException run(List<Job> jobs, boolean firstRun, int instance) {
        long rows = jobs.stream().mapToLong(j -> j.rows).sum();
        int reported = (int) Math.min(Integer.MAX_VALUE, rows); // jobs of zero-element inputs may claim 2^31 - 1 rows each
        List<List<Tensor>> perJob = null;
        InferenceException failure = null;
        long nanos = -1; // until the model ran: a batch that failed before it measured nothing
        long start = 0;
        meters.batchStarted();
        try {
            List<Tensor> inputs = Batches.stack(jobs);
            start = clock.getAsLong();
            if (firstRun) {
                for (Job job : jobs) {
                    long waited = start - job.enqueuedNanos;
                    count(() -> listener.waited(waited));
                }
            }
            List<Tensor> outputs;
            meters.runStarted(instance, start);
            try {
                outputs = runner.run(inputs, jobs.get(0).outputs, jobs.stream().map(j -> j.trace).toList());
            } finally {
                meters.runEnded(instance);
                nanos = clock.getAsLong() - start;
            }
            perJob = Batches.split(jobs, outputs);
        } catch (InferenceException.RuntimeFailure e) {
            failure = new InferenceException.RuntimeFailure("model '" + model + "' failed: " + e.getMessage(), e.getCause(),
                    e.mayBeTheInput());
        } catch (InferenceException e) {
            failure = e;
        } catch (RuntimeException | Error e) {
            LOG.warnf(e, "batch of %d failed on model %s", jobs.size(), model);
            failure = new InferenceException.RuntimeFailure("model '" + model + "' failed: " + e.getMessage(), e);
        } finally {
            meters.batchEnded();
            if (nanos >= 0) {
                if (failure == null) { // a refusal at the first node takes microseconds: no run's cost per row
                    meters.answered(nanos, rows, jobs.size() == 1 ? jobs.get(0).bytes : 0);
                }
                long ranNanos = nanos;
                count(() -> listener.ran(jobs.size(), reported, ranNanos));
            }
        }
        if (failure == null) {
            long waited = 0;
            for (Job job : jobs) {
                waited += start - job.enqueuedNanos;
            }
            long ranNanos = nanos;
            long waitedNanos = waited;
            count(() -> listener.answered(jobs.size(), reported, ranNanos, waitedNanos));
            for (int i = 0; i < jobs.size(); i++) {
                jobs.get(i).complete(perJob.get(i));
            }
        }
        return failure;
    }
}
