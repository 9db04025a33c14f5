#include <mlo/serve/serve_config.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/problems.hpp>
#include <vector>

namespace mlo::serve {

namespace {

const std::vector<std::string> k_keys = {"cmd",       "workers",       "batch", "log", "max_request_mb",
                                         "timeout_s", "read_timeout_s"};
const std::vector<std::string> k_batch_keys = {"max_size", "max_delay_ms"};

template <typename T> bool read_number(const YAML::Node& node, T& out) {
    try {
        out = node.as<T>();
        return true;
    } catch (const YAML::Exception&) {
        return false;
    }
}

} // namespace

Result<ServeConfig> ServeConfig::from_yaml(const YAML::Node& serve, const std::string& model) {
    std::string where = "models." + model + ".serve";
    if (!serve.IsDefined() || serve.IsNull())
        return fail(ErrorCode::input, "mlo.yaml: model '" + model + "' has no serve section",
                    "add `serve: {cmd: python3 src/serve.py, workers: 2}` under models." + model);
    std::vector<util::Problem> problems;
    auto report = [&](const YAML::Node& node, std::string text, std::string hint = {}) {
        problems.push_back(util::Problem{util::yaml_line(node), std::move(text), std::move(hint)});
    };
    ServeConfig config;
    bool has_cmd = false;
    for (const auto& item : serve) {
        std::string key = item.first.Scalar();
        const YAML::Node& value = item.second;
        if (key == "cmd") {
            has_cmd = value.IsScalar() && !value.Scalar().empty();
            if (!has_cmd)
                report(value, where + ".cmd: must be a command line");
            else
                config.cmd = value.Scalar();
        } else if (key == "workers") {
            int workers = 0;
            if (!value.IsScalar() || !read_number(value, workers) || workers < 1 || workers > 256)
                report(value, where + ".workers: must be a whole number from 1 to 256");
            else
                config.workers = static_cast<unsigned>(workers);
        } else if (key == "batch") {
            if (!value.IsMap()) {
                report(value, where + ".batch: must be a map like {max_size: 64, max_delay_ms: 5}");
                continue;
            }
            for (const auto& batch : value) {
                std::string batch_key = batch.first.Scalar();
                if (batch_key == "max_size") {
                    int size = 0;
                    if (!read_number(batch.second, size) || size < 1 || size > 100000)
                        report(batch.second,
                               where + ".batch.max_size: must be a whole number from 1 to 100000");
                    else
                        config.batch_max_size = static_cast<size_t>(size);
                } else if (batch_key == "max_delay_ms") {
                    double delay = 0;
                    if (!read_number(batch.second, delay) || delay < 0 || delay > 10000)
                        report(batch.second, where + ".batch.max_delay_ms: must be a number from 0 to 10000");
                    else
                        config.batch_max_delay_ms = delay;
                } else {
                    report(batch.first, where + ".batch: unknown key '" + batch_key + "'" +
                                            util::did_you_mean(batch_key, k_batch_keys));
                }
            }
        } else if (key == "log") {
            bool log = true;
            if (!read_number(value, log))
                report(value, where + ".log: must be true or false");
            else
                config.log = log;
        } else if (key == "max_request_mb") {
            double megabytes = 0;
            if (!read_number(value, megabytes) || megabytes <= 0 || megabytes > 1024)
                report(value, where + ".max_request_mb: must be a number of megabytes from 0 to 1024");
            else
                config.max_request_bytes = static_cast<size_t>(megabytes * 1024 * 1024);
        } else if (key == "read_timeout_s") {
            double seconds = 0;
            if (!read_number(value, seconds) || seconds <= 0 || seconds > 3600)
                report(value, where + ".read_timeout_s: must be a number of seconds from 0 to 3600");
            else
                config.read_timeout_seconds = seconds;
        } else if (key == "timeout_s") {
            double seconds = 0;
            if (!read_number(value, seconds) || seconds <= 0 || seconds > 3600)
                report(value, where + ".timeout_s: must be a number of seconds from 0 to 3600");
            else
                config.request_timeout_seconds = seconds;
        } else {
            report(item.first, where + ": unknown key '" + key + "'" + util::did_you_mean(key, k_keys));
        }
    }
    if (!has_cmd && problems.empty())
        report(serve, where + ": missing required key 'cmd'",
               "the worker command, e.g. `cmd: /usr/bin/python3 src/serve.py`");
    if (!problems.empty())
        return fail(util::problems_error(problems, "mlo.yaml"));
    return config;
}

} // namespace mlo::serve
