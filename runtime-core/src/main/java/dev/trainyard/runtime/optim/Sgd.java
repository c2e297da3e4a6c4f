package dev.trainyard.runtime.optim;

/**
 * PyTorch's {@code torch.optim.SGD}: {@code d = g + wd·p}; with momentum {@code buf = d} on the
 * first step, then {@code buf = μ·buf + (1−dampening)·d}, and {@code d = buf} (or
 * {@code d + μ·buf} with Nesterov); {@code p = p − lr·d}.
 */
public final class Sgd extends FusedOptimizer {
    private final float momentum;
    private final float dampening;
    private final boolean nesterov;
    private final float weightDecay;
    private final double momentumD;
    private final double dampeningD;
    private float lr;
    private boolean first;

    public Sgd(LearningRateSchedule schedule, double momentum, double dampening, boolean nesterov, double weightDecay) {
        super(schedule, momentum == 0 ? 0 : 1);
        if (momentum < 0 || dampening < 0 || weightDecay < 0) {
            throw new IllegalArgumentException("SGD's momentum, dampening and weight decay must not be negative");
        }
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("Nesterov momentum needs a momentum above 0 and no dampening");
        }
        this.momentum = (float) momentum;
        this.dampening = (float) dampening;
        this.momentumD = momentum;
        this.dampeningD = dampening;
        this.nesterov = nesterov;
        this.weightDecay = (float) weightDecay;
    }

    /** Plain SGD, no momentum or decay. */
    public static Sgd plain(LearningRateSchedule schedule) {
        return new Sgd(schedule, 0, 0, false, 0);
    }

    @Override
    public String kind() {
        return momentum == 0 ? "sgd" : "momentum";
    }

    @Override
    public String describe() {
        return "SGD (lr " + schedule().describe() + (momentum != 0 ? ", momentum " + momentumD : "")
                + (dampening != 0 ? ", dampening " + dampeningD : "") + (nesterov ? ", Nesterov" : "")
                + (weightDecay != 0 ? ", weight decay " + weightDecay : "") + ")";
    }

    @Override
    protected void prepare(double lr, long step) {
        this.lr = (float) lr;
        this.first = step == 1;
    }

    @Override
    protected void update(float[] p, float[] g, float[][] state, int len, float gradScale) {
        float rate = lr;
        float wd = weightDecay;
        for (int i = 0; i < len; i++) {
            g[i] = g[i] * gradScale + wd * p[i];
        }
        if (momentum == 0) {
            for (int i = 0; i < len; i++) {
                p[i] = p[i] - rate * g[i];
            }
            return;
        }
        float[] buf = state[0];
        float mu = momentum;
        float keep = (float) (1 - dampeningD);
        if (first) {
            System.arraycopy(g, 0, buf, 0, len);
        } else {
            for (int i = 0; i < len; i++) {
                buf[i] = buf[i] * mu + keep * g[i];
            }
        }
        if (nesterov) {
            for (int i = 0; i < len; i++) {
                p[i] = p[i] - rate * (g[i] + mu * buf[i]);
            }
        } else {
            for (int i = 0; i < len; i++) {
                p[i] = p[i] - rate * buf[i];
            }
        }
    }
}
