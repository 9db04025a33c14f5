// Talking to Slurm through its command-line tools: building sbatch's arguments and reading what
// scontrol and sacct print. Kept free of process handling so that it can be unit tested.
#include <mlo/pipeline/slurm_job.hpp>
#include <sstream>

namespace mlo::pipeline {

namespace {

bool all_digits(const std::string& text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// "3:0" -> exit 3, signal 0.
void parse_exit_code(const std::string& text, SlurmJobState& job) {
    size_t colon = text.find(':');
    std::string code = text.substr(0, colon);
    std::string signal = colon == std::string::npos ? "" : text.substr(colon + 1);
    if (all_digits(code))
        job.exit_code = std::stoi(code);
    if (all_digits(signal))
        job.signal = std::stoi(signal);
}

} // namespace

bool SlurmJobState::ended() const {
    static const char* const k_live[] = {"PENDING",   "RUNNING",  "CONFIGURING", "COMPLETING",
                                         "SUSPENDED", "REQUEUED", "RESIZING",    "SIGNALING",
                                         "STAGE_OUT", "STOPPED",  "REQUEUE_FED", "REQUEUE_HOLD"};
    if (state == "PENDING" && reason == "DependencyNeverSatisfied")
        return true;
    for (const char* live : k_live)
        if (state == live)
            return false;
    return !state.empty();
}

double parse_slurm_duration(const std::string& text) {
    std::string rest = text;
    double days = 0;
    if (size_t dash = rest.find('-'); dash != std::string::npos) {
        if (!all_digits(rest.substr(0, dash)))
            return 0;
        days = std::stod(rest.substr(0, dash));
        rest = rest.substr(dash + 1);
    }
    double total = 0;
    size_t start = 0;
    while (start <= rest.size()) {
        size_t end = std::min(rest.find(':', start), rest.size());
        std::string part = rest.substr(start, end - start);
        if (!all_digits(part))
            return 0;
        total = total * 60 + std::stod(part);
        start = end + 1;
    }
    return days * 86400 + total;
}

std::optional<SlurmJobState> parse_scontrol_job(const std::string& text) {
    SlurmJobState job;
    bool found = false;
    std::istringstream words(text);
    std::string word;
    while (words >> word) {
        size_t eq = word.find('=');
        if (eq == std::string::npos)
            continue;
        std::string key = word.substr(0, eq), value = word.substr(eq + 1);
        if (key == "JobState") {
            job.state = value;
            found = true;
        } else if (key == "Reason") {
            job.reason = value;
        } else if (key == "ExitCode") {
            parse_exit_code(value, job);
        } else if (key == "RunTime") {
            job.run_seconds = parse_slurm_duration(value);
        }
    }
    if (!found)
        return std::nullopt;
    return job;
}

std::optional<SlurmJobState> parse_sacct_job(const std::string& text) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::vector<std::string> fields;
        size_t start = 0;
        while (start <= line.size()) {
            size_t end = std::min(line.find('|', start), line.size());
            fields.push_back(line.substr(start, end - start));
            start = end + 1;
        }
        if (fields.size() < 2 || fields[0].empty())
            continue;
        SlurmJobState job;
        job.state = fields[0].substr(0, fields[0].find(' ')); // "CANCELLED by 1000"
        parse_exit_code(fields[1], job);
        if (fields.size() > 2 && all_digits(fields[2]))
            job.run_seconds = std::stod(fields[2]);
        return job;
    }
    return std::nullopt;
}

std::string parse_sbatch_job_id(const std::string& text) {
    std::string id = text.substr(0, text.find_first_of(";\n"));
    return all_digits(id) ? id : std::string();
}

std::vector<std::string> sbatch_arguments(const SlurmSubmission& submission) {
    std::vector<std::string> args = {"sbatch", "--parsable", "--job-name=" + submission.job_name,
                                     "--chdir=" + submission.working_directory.string(),
                                     "--output=" + submission.stdout_file.string(),
                                     "--error=" + submission.stderr_file.string(),
                                     // A job whose upstream job failed would otherwise wait forever.
                                     "--kill-on-invalid-dep=yes"};
    if (!submission.after.empty()) {
        std::string dependency = "--dependency=afterok";
        for (const auto& id : submission.after)
            dependency += ":" + id;
        args.push_back(dependency);
    }
    const auto& options = submission.options;
    if (!options.partition.empty())
        args.push_back("--partition=" + options.partition);
    if (!options.time.empty())
        args.push_back("--time=" + options.time);
    if (options.cpus > 0)
        args.push_back("--cpus-per-task=" + std::to_string(options.cpus));
    if (!options.mem.empty())
        args.push_back("--mem=" + options.mem);
    if (!options.gpus.empty())
        args.push_back("--gpus=" + options.gpus);
    args.push_back(submission.script.string());
    return args;
}

std::string batch_script(const std::string& stage, const std::string& run_id, const std::string& cmd) {
    // The stage name is [A-Za-z0-9_-] (config.cpp) and the run id is generated: both are safe in a
    // comment. The command follows on its own lines, as the user wrote it.
    return "#!/bin/sh\n"
           "# Written by mlo for stage " +
           stage + " of run " + run_id +
           ". The lines after the trap are the stage's cmd.\n"
           "trap 'echo $? >\"$MLO_SLURM_EXIT_FILE\"' EXIT\n" +
           cmd + "\n";
}

} // namespace mlo::pipeline
