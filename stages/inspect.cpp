#include "stages/inspect.hpp"

#include <cstdio>
#include <map>
#include <numeric>
#include <vector>

#include "codec/codes_file.hpp"
#include "data/data_file.hpp"
#include "h5/attribute.hpp"
#include "h5/check.hpp"
#include "h5/dataset.hpp"
#include "h5/format.hpp"
#include "h5/library_guard.hpp"
#include "h5/strings.hpp"
#include "index/index_file.hpp"
#include "index/neighbours_file.hpp"
#include "mpi/agreement.hpp"
#include "nn/model_file.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace aepipe::stages {
namespace {

// Newest version of each file kind this build reads.
std::int64_t newest_known_version(const std::string& kind) {
  if (kind == data::kDataFormat) return data::kDataVersion;
  if (kind == nn::kModelFormat) return nn::kModelVersion;
  if (kind == codec::kCodesFormat) return codec::kCodesVersion;
  if (kind == index::kIndexFormat) return index::kIndexVersion;
  if (kind == index::kNeighboursFormat) return index::kNeighboursVersion;
  return 0;
}

struct DatasetSummary {
  std::string name;
  std::string type;
  std::vector<hsize_t> shape;
  std::vector<hsize_t> chunks;
  std::string filters;
};

struct AttributeSummary {
  std::string name;
  std::string text;  // for people
  std::string json;  // a JSON value
};

struct Summary {
  std::string file;
  bool temporary = false;
  std::string kind;
  std::int64_t version = 0;
  std::string version_note;
  std::vector<AttributeSummary> attributes;
  std::vector<DatasetSummary> datasets;
  std::map<std::int64_t, std::int64_t> label_counts;
  std::vector<std::string> classes;
  bool has_labels = false;
};

std::string describe_type(hid_t type) {
  const size_t bytes = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return cat(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", bytes * 8);
    case H5T_FLOAT:
      return cat("float", bytes * 8);
    case H5T_STRING:
      return H5Tis_variable_str(type) > 0 ? "string" : cat("string", bytes);
    case H5T_COMPOUND: {
      std::string fields;
      const int members = H5Tget_nmembers(type);
      for (int i = 0; i < members; ++i) {
        char* name = H5Tget_member_name(type, static_cast<unsigned>(i));
        h5::Handle member(H5Tget_member_type(type, static_cast<unsigned>(i)));
        fields +=
            cat(i > 0 ? ", " : "", name != nullptr ? name : "?", ": ", describe_type(member.get()));
        H5free_memory(name);
      }
      return "{" + fields + "}";
    }
    default:
      return "other";
  }
}

std::string shape_text(const std::vector<hsize_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += cat(i > 0 ? ", " : "", shape[i]);
  return text + "]";
}

herr_t visit_object(hid_t root, const char* name, const H5O_info_t* info, void* out) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  auto& datasets = *static_cast<std::vector<DatasetSummary>*>(out);
  h5::Handle dataset(H5Dopen2(root, name, H5P_DEFAULT));
  if (!dataset.valid()) return 0;
  DatasetSummary summary;
  summary.name = std::string("/") + name;
  h5::Handle type(H5Dget_type(dataset.get()));
  summary.type = describe_type(type.get());
  h5::Handle space(H5Dget_space(dataset.get()));
  summary.shape.resize(static_cast<size_t>(std::max(0, H5Sget_simple_extent_ndims(space.get()))));
  H5Sget_simple_extent_dims(space.get(), summary.shape.data(), nullptr);
  h5::Handle plist(H5Dget_create_plist(dataset.get()));
  if (H5Pget_layout(plist.get()) == H5D_CHUNKED) {
    summary.chunks.resize(summary.shape.size());
    H5Pget_chunk(plist.get(), static_cast<int>(summary.chunks.size()), summary.chunks.data());
    const int filters = H5Pget_nfilters(plist.get());
    for (int i = 0; i < filters; ++i) {
      unsigned flags = 0, config = 0;
      size_t values = 1;
      unsigned level = 0;
      char filter_name[64] = {};
      const H5Z_filter_t filter =
          H5Pget_filter2(plist.get(), static_cast<unsigned>(i), &flags, &values, &level,
                         sizeof filter_name, filter_name, &config);
      summary.filters +=
          cat(summary.filters.empty() ? "" : ",",
              filter == H5Z_FILTER_DEFLATE ? cat("deflate ", level) : std::string(filter_name));
    }
  }
  datasets.push_back(std::move(summary));
  return 0;
}

herr_t visit_attribute(hid_t object, const char* name, const H5A_info_t*, void* out) {
  auto& attributes = *static_cast<std::vector<AttributeSummary>*>(out);
  AttributeSummary summary{name, "", "null"};
  try {
    if (auto text = h5::read_string_attribute(object, name, "/")) {
      summary.text = *text;
      summary.json = json_quote(*text);
    } else if (auto number = h5::read_int_attribute(object, name, "/")) {
      summary.text = std::to_string(*number);
      summary.json = summary.text;
    }
  } catch (const Error&) {
    try {
      if (auto real = h5::read_float_attribute(object, name, "/")) {
        summary.text = cat(*real);
        summary.json = JsonObject().add("v", *real).str();
        summary.json = summary.json.substr(5, summary.json.size() - 6);
      }
    } catch (const Error&) {
      summary.text = "(not a scalar)";
    }
  }
  attributes.push_back(std::move(summary));
  return 0;
}

Summary summarise(const std::string& path) {
  Summary summary;
  summary.file = path;
  summary.temporary = is_temporary_output(path);
  h5::File file = h5::File::open(path, h5::File::Mode::kReadOnly, nullptr);
  if (h5::has_attribute(file.id(), "aepipe_format")) {
    const h5::FormatTag tag = h5::read_format_tag(file);
    summary.kind = tag.kind;
    summary.version = tag.version;
    const std::int64_t newest = newest_known_version(tag.kind);
    if (newest == 0)
      summary.version_note = "a kind this aepipe does not read yet";
    else if (tag.version < 1 || tag.version > newest)
      summary.version_note =
          cat("unknown version: this aepipe reads '", tag.kind, "' versions 1 to ", newest);
  }
  {
    const h5::LibraryGuard guard(cat("listing the attributes and datasets of ", path));
    h5::check_status(H5Aiterate2(file.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, visit_attribute,
                                 &summary.attributes),
                     cat("cannot list the attributes of ", path));
    h5::check_status(H5Ovisit2(file.id(), H5_INDEX_NAME, H5_ITER_INC, visit_object,
                               &summary.datasets, H5O_INFO_BASIC),
                     cat("cannot list the datasets of ", path));
  }

  if (h5::exists(file, "/labels")) {
    h5::Dataset labels = h5::Dataset::open(file, "/labels");
    if (labels.dims().size() == 1) {
      summary.has_labels = true;
      constexpr hsize_t kPiece = 1 << 20;
      std::vector<std::int64_t> values;
      for (hsize_t first = 0; first < labels.rows(); first += kPiece) {
        const hsize_t count = std::min(kPiece, labels.rows() - first);
        values.resize(count);
        labels.read_rows(first, count, values.data());
        for (auto value : values) ++summary.label_counts[value];
      }
    }
  }
  if (h5::exists(file, "/classes")) {
    h5::Dataset classes = h5::Dataset::open(file, "/classes");
    summary.classes = h5::read_strings(classes, 0, classes.rows());
  }
  return summary;
}

std::string class_name(const Summary& summary, std::int64_t label) {
  if (label >= 0 && static_cast<size_t>(label) < summary.classes.size())
    return summary.classes[static_cast<size_t>(label)];
  return "";
}

void print_text(const Summary& summary) {
  std::printf("file:     %s%s\n", summary.file.c_str(),
              summary.temporary ? "  (a temporary name: an unfinished or abandoned output)" : "");
  if (summary.kind.empty())
    std::printf("kind:     not an aepipe file (no aepipe_format attribute)\n");
  else
    std::printf("kind:     %s, version %lld%s%s\n", summary.kind.c_str(),
                static_cast<long long>(summary.version), summary.version_note.empty() ? "" : "  ",
                summary.version_note.c_str());
  std::printf("attributes:\n");
  for (const auto& attribute : summary.attributes)
    std::printf("  %-16s %s\n", attribute.name.c_str(), attribute.text.c_str());
  std::printf("datasets:\n");
  for (const auto& dataset : summary.datasets) {
    std::printf("  %-10s %-8s %s", dataset.name.c_str(), dataset.type.c_str(),
                shape_text(dataset.shape).c_str());
    if (!dataset.chunks.empty()) std::printf("  chunks %s", shape_text(dataset.chunks).c_str());
    if (!dataset.filters.empty()) std::printf("  %s", dataset.filters.c_str());
    std::printf("\n");
  }
  if (summary.has_labels) {
    std::printf("labels:   %zu distinct\n", summary.label_counts.size());
    for (const auto& [label, count] : summary.label_counts) {
      const std::string name = class_name(summary, label);
      std::printf("  %6lld %-16s %lld\n", static_cast<long long>(label), name.c_str(),
                  static_cast<long long>(count));
    }
  }
}

void print_json(const Summary& summary) {
  JsonObject attributes;
  for (const auto& attribute : summary.attributes)
    attributes.add_raw(attribute.name, attribute.json);
  std::string datasets = "[";
  for (size_t i = 0; i < summary.datasets.size(); ++i) {
    const auto& dataset = summary.datasets[i];
    auto list = [](const std::vector<hsize_t>& values) {
      std::string text = "[";
      for (size_t j = 0; j < values.size(); ++j) text += cat(j > 0 ? "," : "", values[j]);
      return text + "]";
    };
    JsonObject entry;
    entry.add("name", dataset.name).add("type", dataset.type).add_raw("shape", list(dataset.shape));
    if (!dataset.chunks.empty()) entry.add_raw("chunks", list(dataset.chunks));
    entry.add("filters", dataset.filters);
    datasets += (i > 0 ? "," : "") + entry.str();
  }
  datasets += "]";
  JsonObject out;
  out.add("file", summary.file).add("complete", !summary.temporary);
  if (summary.kind.empty())
    out.add_raw("format", "null");
  else
    out.add("format", summary.kind).add("version", summary.version);
  if (!summary.version_note.empty()) out.add("version_note", summary.version_note);
  out.add_raw("attributes", attributes.str()).add_raw("datasets", datasets);
  if (summary.has_labels) {
    JsonObject histogram;
    std::int64_t total = 0;
    for (const auto& [label, count] : summary.label_counts) {
      histogram.add(std::to_string(label), count);
      total += count;
    }
    JsonObject labels;
    labels.add("count", total).add_raw("histogram", histogram.str());
    if (!summary.classes.empty()) {
      std::string names = "[";
      for (size_t i = 0; i < summary.classes.size(); ++i)
        names += (i > 0 ? "," : "") + json_quote(summary.classes[i]);
      labels.add_raw("classes", names + "]");
    }
    out.add_raw("labels", labels.str());
  }
  std::printf("%s\n", out.str().c_str());
}

}  // namespace

void run_inspect(const InspectOptions& options, const StageContext& context) {
  if (options.file.empty()) throw UsageError("no file given: aepipe inspect FILE");
  mpi::collectively(context.comm, [&] {
    if (!context.comm.is_root()) return;
    const Summary summary = summarise(options.file);
    if (options.json)
      print_json(summary);
    else
      print_text(summary);
    std::fflush(stdout);
  });
}

}  // namespace aepipe::stages
