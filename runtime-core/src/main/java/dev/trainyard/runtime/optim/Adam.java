package dev.trainyard.runtime.optim;

/**
 * PyTorch's {@code torch.optim.Adam} and {@code AdamW} (single-tensor path, as in 1.13):
 * {@code m = β1·m + (1−β1)·g}, {@code v = β2·v + (1−β2)·g·g},
 * {@code p = p − (lr/(1−β1^t))·m / (√v/√(1−β2^t) + ε)}: ε is added after the bias correction
 * (DJL's Adam adds it before, which weighs it differently early in training). Weight decay is L2
 * ({@code g + wd·p}) for Adam and decoupled ({@code p·(1 − lr·wd)} before the update) for AdamW.
 */
public final class Adam extends FusedOptimizer {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final boolean decoupled;
    private float b1;
    private float oneMinusB1;
    private float b2;
    private float oneMinusB2;
    private float stepSize;
    private float correction2Sqrt;
    private float epsilon;
    private float l2;
    private float decay;

    private Adam(LearningRateSchedule schedule, double beta1, double beta2, double eps, double weightDecay, boolean decoupled) {
        super(schedule, 2);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("Adam's betas must be in [0, 1), got " + beta1 + " and " + beta2);
        }
        if (!(eps > 0) || weightDecay < 0) {
            throw new IllegalArgumentException("Adam's epsilon must be positive and its weight decay not negative");
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decoupled = decoupled;
    }

    /** Adam with L2 weight decay (0 for none); PyTorch's defaults are 0.9, 0.999, 1e-8, 0. */
    public static Adam adam(LearningRateSchedule schedule, double beta1, double beta2, double eps, double weightDecay) {
        return new Adam(schedule, beta1, beta2, eps, weightDecay, false);
    }

    /** AdamW: decoupled weight decay; PyTorch's defaults are 0.9, 0.999, 1e-8, 0.01. */
    public static Adam adamW(LearningRateSchedule schedule, double beta1, double beta2, double eps, double weightDecay) {
        return new Adam(schedule, beta1, beta2, eps, weightDecay, true);
    }

    @Override
    public String kind() {
        return decoupled ? "adamw" : "adam";
    }

    @Override
    public String describe() {
        return (decoupled ? "AdamW" : "Adam") + " (lr " + schedule().describe() + ", betas " + beta1 + "/" + beta2
                + ", eps " + eps + (weightDecay != 0 ? ", weight decay " + weightDecay : "") + ")";
    }

    @Override
    protected void prepare(double lr, long step) {
        b1 = (float) beta1;
        oneMinusB1 = (float) (1 - beta1);
        b2 = (float) beta2;
        oneMinusB2 = (float) (1 - beta2);
        stepSize = (float) (lr / (1 - Math.pow(beta1, step)));
        correction2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, step));
        epsilon = (float) eps;
        l2 = decoupled ? 0f : (float) weightDecay;
        decay = decoupled ? (float) (1 - lr * weightDecay) : 1f;
    }

    @Override
    protected void update(float[] p, float[] g, float[][] state, int len, float gradScale) {
        float[] m = state[0];
        float[] v = state[1];
        float beta1f = b1;
        float keep1 = oneMinusB1;
        float beta2f = b2;
        float keep2 = oneMinusB2;
        float step = -stepSize;
        float c2 = correction2Sqrt;
        float e = epsilon;
        float wd = l2;
        float shrink = decay;
        for (int i = 0; i < len; i++) {
            float gi = g[i] * gradScale + wd * p[i];
            float mi = m[i] * beta1f + keep1 * gi;
            float vi = v[i] * beta2f + keep2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float denom = (float) Math.sqrt(vi) / c2 + e;
            p[i] = p[i] * shrink + step * mi / denom;
        }
    }
}
