package dev.trainyard.examples;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.TrainingResult;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import dev.trainyard.runtime.train.DistributedOptions;
import dev.trainyard.runtime.train.DistributedSampler;
import dev.trainyard.runtime.train.DistributedTrainer;
import dev.trainyard.runtime.train.StepPhasesLogger;
import java.io.IOException;
import java.util.Locale;
import java.util.Map;

/**
 * Training inside a product: a plain Java program (no launcher) that trains in-process as a
 * world of 1, with DJL's own {@code EasyTrain.fit} and listeners. The same code joins a
 * multi-worker job unchanged when started by {@code trainyard launch}.
 * Run: {@code java -cp ... dev.trainyard.examples.EmbeddedTraining}
 */
public final class EmbeddedTraining {
    private EmbeddedTraining() {
    }

    /** Trains the MLP for {@code epochs} on {@code data} and returns the test accuracy DJL's evaluator measured. */
    static float train(ProcessGroup group, FashionMnistData trainSet, FashionMnistData testSet, int epochs)
            throws IOException, TranslateException {
        try (Model model = Model.newInstance("embedded-mlp")) {
            model.setBlock(Models.mlp());
            NDManager manager = model.getNDManager();
            DistributedSampler sampler = new DistributedSampler(64, group.rank(), group.worldSize(), 7, true, DistributedSampler.Uneven.PAD);
            ArrayDataset train = trainSet.toDataset(manager, new Shape(FashionMnistData.PIXELS)).setSampling(sampler).build();
            ArrayDataset test = testSet.toDataset(manager, new Shape(FashionMnistData.PIXELS)).setSampling(1000, false).build();
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.001f)).build())
                    .addEvaluator(new Accuracy())
                    .addTrainingListeners(TrainingListener.Defaults.basic())
                    .addTrainingListeners(new StepPhasesLogger()); // where each step's time went, per epoch
            try (DistributedTrainer trainer = new DistributedTrainer(model, config, group, DistributedOptions.defaults())) {
                trainer.initialize(new Shape(1, FashionMnistData.PIXELS));
                EasyTrain.fit(trainer, epochs, train, test);
                TrainingResult result = trainer.getTrainingResult();
                return result.getValidateEvaluation("Accuracy");
            }
        }
    }

    public static void main(String[] args) throws IOException, TranslateException {
        System.setProperty("ai.djl.offline", "true");
        boolean real = FashionMnistData.present(FashionMnistData.defaultDir());
        FashionMnistData trainSet = real ? FashionMnistData.load(FashionMnistData.defaultDir(), true, 20000) : FashionMnistData.synthetic(20000, 1);
        FashionMnistData testSet = real ? FashionMnistData.load(FashionMnistData.defaultDir(), false, 10000) : FashionMnistData.synthetic(10000, 2);
        try (ProcessGroup group = Trainyard.init(Map.of())) { // Map.of(): never join a job, even under the launcher
            float accuracy = train(group, trainSet, testSet, 1);
            System.out.printf(Locale.ROOT, "embedded training: test accuracy %.3f after 1 epoch on %d %s samples%n",
                    accuracy, trainSet.count(), real ? "Fashion-MNIST" : "synthetic");
        }
    }
}
