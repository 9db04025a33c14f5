#pragma once

#include <cstddef>
#include <mlo/util/error.hpp>
#include <string>
#include <yaml-cpp/yaml.h>

namespace mlo::serve {

// `models.<name>.serve` of mlo.yaml: how the model's workers run and how requests are handled.
struct ServeConfig {
    std::string cmd; // a worker speaking the worker protocol (SPEC.md section 6)
    unsigned workers = 1;
    size_t batch_max_size = 1; // rows per worker call; 1 = dynamic batching off
    double batch_max_delay_ms = 5;
    bool log = true; // log every request and prediction for mlo monitor
    size_t max_request_bytes = 10u << 20;
    double request_timeout_seconds = 30;
    double read_timeout_seconds = 10; // a client must send its whole request within this (else 408)

    // Reads and checks the section (every problem, with its line); a missing section or `cmd` is
    // ErrorCode::input with a hint showing the shape.
    static Result<ServeConfig> from_yaml(const YAML::Node& serve, const std::string& model);
};

} // namespace mlo::serve
