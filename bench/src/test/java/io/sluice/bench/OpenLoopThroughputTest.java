package io.sluice.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An open loop's throughput counts the answers that came within its window: a server that queues past its capacity
 * and answers everything late must not show the offered rate as what it carried.
 */
class OpenLoopThroughputTest {

    @Test
    void answersThatComeAfterTheWindowAreNotItsThroughput() {
        CountDownLatch never = new CountDownLatch(1);
        // the first call is held until well after the 1 s window; the rest, sent late behind it, answer at once
        ClientFactory stalled = new ClientFactory() {
            @Override
            public InferClient create(int index) {
                return new InferClient() {
                    private boolean first = true;

                    @Override
                    public int infer() {
                        if (first) {
                            first = false;
                            try {
                                never.await(1500, TimeUnit.MILLISECONDS); // the server's queue, past the window
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                        return Status.OK;
                    }

                    @Override
                    public Response inferDecoded() {
                        throw new UnsupportedOperationException();
                    }

                    @Override
                    public List<Tensor> inputs() {
                        return List.of();
                    }

                    @Override
                    public void close() { }
                };
            }

            @Override
            public void close() { }
        };
        LoadResult r = new LoadGenerator(0, 1, 30, 1_000).open(stalled, 10, 1);
        assertEquals(10, r.ok(), "every request due in the window is answered, and its latency kept");
        assertEquals(0, r.okInWindow());
        assertEquals(0.0, r.throughput()); // it counted 10 req/s, the offered rate
    }
}
