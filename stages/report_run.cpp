#include "stages/report_run.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/machine.hpp"
#include "util/error.hpp"

namespace aepipe::stages {
namespace {

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, std::abs(value) >= 1000 ? "%.0f" : "%.4g", value);
  return text;
}

// The seconds of an event ("" if it has none).
std::string seconds_of(const report::JsonEvent& event) {
  const auto* seconds = event.find("seconds");
  if (!seconds || seconds->kind != report::JsonValue::Kind::kNumber) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", seconds->number);
  return text;
}

// The file an event is about: what it wrote, or else what it measured.
std::string file_of(const report::JsonEvent& event) {
  for (const char* key : {"output", "codes", "neighbours", "model"})
    if (const std::string file = event.text(key); !file.empty()) return file;
  return "";
}

std::string stage_tables(const RunFacts& facts) {
  std::vector<std::vector<std::string>> job_stages, events;
  for (const auto& event : facts.metrics) {
    const std::string stage = event.text("stage"), kind = event.text("event");
    if (stage == "run" && kind == "stage")
      job_stages.push_back(
          {event.text("name"), event.text("action"), seconds_of(event), event.text("reason")});
    else if (stage == "run" && kind == "done")
      job_stages.push_back({"(whole job)", "", seconds_of(event), event_figures(event)});
    else if (kind != "epoch")  // per-epoch lines: the training section charts them
      events.push_back({stage, kind, file_of(event), seconds_of(event), event_figures(event)});
  }
  std::string body;
  if (!job_stages.empty())
    body += report::html_table({"job stage", "action", "seconds", "why"}, job_stages);
  if (!events.empty())
    body += report::html_table({"stage", "event", "file", "seconds", "figures"}, events);
  if (body.empty()) body = report::html_note(cat(facts.metrics_path, " holds no stage events"));
  return body;
}

}  // namespace

std::string event_figures(const report::JsonEvent& event) {
  static const std::vector<std::string> kFigures = {"rows",
                                                    "images",
                                                    "queries",
                                                    "ranks",
                                                    "validation_sse_per_image",
                                                    "sse_per_image",
                                                    "psnr",
                                                    "pca_psnr",
                                                    "code_size",
                                                    "bits",
                                                    "bits_per_pixel",
                                                    "ssim",
                                                    "queries_per_s",
                                                    "mean_average_precision",
                                                    "images_per_s",
                                                    "stages"};
  std::string text;
  for (const auto& [key, value] : event.fields) {
    const bool wanted = std::find(kFigures.begin(), kFigures.end(), key) != kFigures.end() ||
                        key.rfind("recall_at_", 0) == 0 || key.rfind("precision_at_", 0) == 0;
    if (!wanted || value.kind != report::JsonValue::Kind::kNumber) continue;
    text += (text.empty() ? "" : ", ") + key + " " + number_text(value.number);
  }
  return text;
}

report::Section run_section(const RunFacts& facts) {
  report::Section section{"run", "How it ran", ""};
  const report::MachineInfo machine = report::describe_machine();
  section.body +=
      report::html_table({"", ""}, {{"host", machine.hostname},
                                    {"CPU", machine.cpu_model},
                                    {"cores", std::to_string(machine.cores)},
                                    {"ranks of this report", std::to_string(facts.ranks)},
                                    {"aepipe", AEPIPE_VERSION_STRING}});
  section.body += "<h3>Stages</h3>\n";
  section.body +=
      facts.metrics_path.empty()
          ? report::html_note("No metrics file given (--metrics-input): no stage times.")
          : report::html_paragraph("From " + facts.metrics_path + ":") + stage_tables(facts);
  section.body += "<h3>Job file</h3>\n";
  section.body += facts.job_path.empty() ? report::html_note("No job file given (--job).")
                                         : report::html_paragraph(facts.job_path + ":") +
                                               report::html_pre(facts.job_text);
  return section;
}

}  // namespace aepipe::stages
