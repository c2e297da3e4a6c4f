package dev.trainyard.collectives;

import java.util.List;

/** The communicator was aborted (locally or by a peer) before this work could finish. */
public class CommunicatorAbortedException extends CollectiveException {
    private static final long serialVersionUID = 1L;

    public CommunicatorAbortedException(String message, List<Integer> ranks, Throwable cause) {
        super(message, ranks, cause);
    }
}
