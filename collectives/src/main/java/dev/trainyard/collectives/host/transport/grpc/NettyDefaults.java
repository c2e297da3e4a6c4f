package dev.trainyard.collectives.host.transport.grpc;

import dev.trainyard.collectives.host.transport.Exchange;
import io.grpc.netty.shaded.io.netty.util.ResourceLeakDetector;

/**
 * Process-wide netty settings for tensor traffic. Netty's leak detector samples buffer
 * allocations and wraps the sampled ones: with millions of 16 KiB HTTP/2 frames it keeps call
 * sites polymorphic and the JIT recompiling. Our buffers' lifetimes are explicit (frames are
 * released by {@link Exchange}), so it is off unless the user asked for a level.
 */
public final class NettyDefaults {
    private static final String LEVEL_PROPERTY = "io.grpc.netty.shaded.io.netty.leakDetection.level";

    private NettyDefaults() {
    }

    public static void apply() {
        if (System.getProperty(LEVEL_PROPERTY) == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
    }
}
