// After 'mvn package' of the standalone project: launch its jar on 2 workers with the launcher this reactor built,
// as a user runs it, and check the job ends well and learns.
// Trainyard brings DJL's engine but no natives: the only libtorch is the one this project chose, at depth 1
def natives = new File(basedir, "target/dependency-tree.txt").readLines().findAll { it.contains("pytorch-native") }
assert natives.size() == 1 && natives[0] =~ /^[+\\]- ai\.djl\.pytorch:pytorch-native-cpu:jar:linux-x86_64:2\.7\.1:runtime/ :
        "natives in the dependency tree: " + natives

def java = new File(System.getProperty("java.home"), "bin/java").path
def runDir = new File(basedir, "target/run")
def cmd = [java, "-jar", launcherJar, "launch", "--nproc-per-node", "2", "--no-preflight", "--run-dir", runDir.path,
           "--classpath", new File(basedir, "target/standalone-djl.jar").path, "example.Main"]
println "standalone: " + cmd.join(" ")
def process = new ProcessBuilder(cmd).redirectErrorStream(true).start()
def output = new StringBuilder()
process.inputStream.eachLine { line -> println line; output.append(line).append('\n') }
if (!process.waitFor(300, java.util.concurrent.TimeUnit.SECONDS)) {
    process.destroyForcibly()
    throw new AssertionError("the 2-worker job did not end within 300 s")
}
assert process.exitValue() == 0 : "launcher exit status ${process.exitValue()}"
def rank0 = new File(runDir, "rank-0.log").text
def m = rank0 =~ /standalone: 2 workers, test accuracy ([01]\.\d+)/
assert m.find() : "no accuracy line in rank-0.log:\n" + rank0
def accuracy = Double.parseDouble(m.group(1))
assert accuracy > 0.8 : "test accuracy ${accuracy} after 3 epochs on 2 workers"
assert rank0.contains("trainyard: epoch 1: ") : "StepPhasesLogger's epoch line"
println "standalone: 2 workers, test accuracy ${accuracy}: ok"
return true
