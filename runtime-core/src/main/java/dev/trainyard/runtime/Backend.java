package dev.trainyard.runtime;

import java.util.Locale;

/** Which communicator carries the collectives. */
public enum Backend {
    /** NCCL where every rank can use it, otherwise gRPC. */
    AUTO,
    NCCL,
    /** Trainyard's own TCP ring all-reduce (gRPC control plane); runs anywhere. */
    GRPC;

    public static Backend parse(String text) {
        try {
            return valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown backend '" + text + "'; choose auto, nccl or grpc");
        }
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
