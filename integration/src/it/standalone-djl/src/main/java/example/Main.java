package example;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import dev.trainyard.runtime.train.DistributedOptions;
import dev.trainyard.runtime.train.DistributedSampler;
import dev.trainyard.runtime.train.DistributedTrainer;
import dev.trainyard.runtime.train.StepPhasesLogger;
import java.util.Random;

/**
 * A plain DJL training program (an MLP on ten Gaussian clusters, EasyTrain.fit), made data-parallel
 * by the lines marked "Trainyard": join the job, give each worker its share of every epoch, and
 * train with a DistributedTrainer instead of model.newTrainer(config). Run alone it is a world of 1.
 */
public final class Main {
    private static final int FEATURES = 32;
    private static final int CLASSES = 10;

    public static void main(String[] args) throws Exception {
        try (ProcessGroup pg = Trainyard.init();                                                   // Trainyard
             Model model = Model.newInstance("standalone")) {
            model.setBlock(new SequentialBlock()
                    .add(Linear.builder().setUnits(64).build()).add(Activation::relu)
                    .add(Linear.builder().setUnits(CLASSES).build()));
            NDManager manager = model.getNDManager();
            DistributedSampler sampler = new DistributedSampler(32, pg.rank(), pg.worldSize(), 1, true,  // Trainyard
                    DistributedSampler.Uneven.PAD);
            ArrayDataset train = clusters(manager, 8000, 1).setSampling(sampler).build();
            ArrayDataset test = clusters(manager, 2000, 2).setSampling(500, false).build();
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.003f)).build())
                    .addEvaluator(new Accuracy())
                    .addTrainingListeners(TrainingListener.Defaults.basic())
                    .addTrainingListeners(new StepPhasesLogger());                                // Trainyard (optional)
            try (DistributedTrainer trainer = new DistributedTrainer(model, config, pg,              // Trainyard
                    DistributedOptions.defaults())) {
                trainer.initialize(new Shape(1, FEATURES));
                EasyTrain.fit(trainer, 3, train, test);
                float accuracy = trainer.getTrainingResult().getValidateEvaluation("Accuracy");
                if (pg.rank() == 0) {
                    System.out.printf("standalone: %d workers, test accuracy %.3f%n", pg.worldSize(), accuracy);
                }
            }
        }
    }

    /** Ten clusters, one per class, around random centres; the same on every worker for a given seed. */
    private static ArrayDataset.Builder clusters(NDManager manager, int n, long seed) {
        Random centres = new Random(42);
        float[][] centre = new float[CLASSES][FEATURES];
        for (float[] c : centre) {
            for (int j = 0; j < FEATURES; j++) {
                c[j] = (float) centres.nextGaussian() * 0.5f; // close enough to overlap: accuracy well below 1
            }
        }
        Random r = new Random(seed);
        float[] x = new float[n * FEATURES];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            int label = r.nextInt(CLASSES);
            y[i] = label;
            for (int j = 0; j < FEATURES; j++) {
                x[i * FEATURES + j] = centre[label][j] + (float) r.nextGaussian();
            }
        }
        return new ArrayDataset.Builder().setData(manager.create(x, new Shape(n, FEATURES))).optLabels(manager.create(y));
    }
}
