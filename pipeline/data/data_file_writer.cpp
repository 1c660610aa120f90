#include "data/data_file_writer.hpp"

#include <algorithm>
#include <cstring>

#include "data/source_table.hpp"
#include "h5/attribute.hpp"
#include "h5/check.hpp"
#include "h5/format.hpp"
#include "h5/strings.hpp"
#include "mpi/agreement.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

using FilePtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

FilePtr open_spill(const std::string& path, const char* mode) {
  FilePtr file(std::fopen(path.c_str(), mode), std::fclose);
  if (!file) throw Error(cat("cannot open temporary file ", path, ": ", std::strerror(errno)));
  return file;
}

void put(std::FILE* out, const void* data, size_t bytes, const std::string& path) {
  if (bytes > 0 && std::fwrite(data, 1, bytes, out) != bytes)
    throw Error(cat("cannot write temporary file ", path, ": ", std::strerror(errno)));
}

void put_string(std::string& packed, const std::string& text) {
  const auto length = static_cast<std::uint32_t>(text.size());
  packed.append(reinterpret_cast<const char*>(&length), sizeof length);
  packed.append(text);
}

void put_int(std::string& packed, std::int64_t value) {
  packed.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads back what put_string/put_int wrote; false at a clean end of file.
bool get_string(std::FILE* in, std::string& text) {
  std::uint32_t length = 0;
  if (std::fread(&length, sizeof length, 1, in) != 1) return false;
  text.resize(length);
  return length == 0 || std::fread(text.data(), 1, length, in) == length;
}

std::int64_t get_int(std::FILE* in, const std::string& path) {
  std::int64_t value = 0;
  if (std::fread(&value, sizeof value, 1, in) != 1)
    throw Error(cat("temporary file ", path, " ends early"));
  return value;
}

}  // namespace

DataFileWriter::DataFileWriter(const mpi::Communicator& comm, std::string output,
                               const DataFileLayout& layout)
    : comm_(comm), output_(std::move(output)), layout_(layout) {
  temporary_ = temporary_path_for(output_, comm_);
  names_spill_ = temporary_ + ".names";
  sources_spill_ = temporary_ + ".sources";
  if (comm_.is_root()) {
    register_temporary(names_spill_);
    register_temporary(sources_spill_);
  }
  mpi::collectively(comm_, [&] {
    if (!comm_.is_root()) return;
    names_out_ = open_spill(names_spill_, "wb");
    if (layout_.tiles) sources_out_ = open_spill(sources_spill_, "wb");
  });
  mpi::or_abort(comm_, [&] {
    file_.emplace(h5::File::create(temporary_, &comm_));
    const auto& shape = layout_.row_shape;
    h5::DatasetLayout images_layout{h5::rows_per_chunk(shape.bytes(), layout_.chunk_bytes),
                                    layout_.deflate_level, true};
    images_.emplace(
        h5::Dataset::create(*file_, "/images", H5T_STD_U8LE, 0,
                            {static_cast<hsize_t>(shape.height), static_cast<hsize_t>(shape.width),
                             static_cast<hsize_t>(shape.channels)},
                            images_layout));
    // Per-row metadata chunks hold as many rows as an /images chunk, at least 4096.
    const hsize_t metadata_rows = std::max<hsize_t>(4096, images_layout.chunk_rows);
    if (layout_.labels)
      labels_.emplace(h5::Dataset::create(*file_, "/labels", H5T_STD_I32LE, 0, {},
                                          {metadata_rows, layout_.deflate_level, true}));
    if (layout_.tiles)
      tiles_.emplace(h5::Dataset::create(*file_, "/tiles", H5T_STD_I64LE, 0, {4},
                                         {metadata_rows, layout_.deflate_level, true}));
  });
}

DataFileWriter::~DataFileWriter() {
  if (finished_) return;
  // Reached while unwinding from an agreed failure: every rank is here, so the collective
  // close is safe. Errors are ignored (Handle::reset never throws).
  tiles_.reset();
  labels_.reset();
  images_.reset();
  file_.reset();
  remove_temporaries();
}

void DataFileWriter::remove_temporaries() noexcept {
  names_out_.reset();
  sources_out_.reset();
  if (comm_.is_root()) {
    std::remove(temporary_.c_str());
    std::remove(names_spill_.c_str());
    std::remove(sources_spill_.c_str());
  }
  unregister_temporary(temporary_);
  unregister_temporary(names_spill_);
  unregister_temporary(sources_spill_);
}

void DataFileWriter::append(RowBatch& batch) {
  const std::int64_t local_rows = batch.rows();
  const std::int64_t first_row = rows_ + comm_.exscan_sum(local_rows);
  const std::int64_t total_rows = rows_ + comm_.allreduce_sum(local_rows);
  const auto local_sources = static_cast<std::int64_t>(batch.sources.size());
  const std::int64_t first_source = sources_ + comm_.exscan_sum(local_sources);
  const std::int64_t total_sources = sources_ + comm_.allreduce_sum(local_sources);
  for (size_t i = 0; i < batch.tiles.size(); i += 4) batch.tiles[i] += first_source;

  mpi::or_abort(comm_, [&] {
    const auto first = static_cast<hsize_t>(first_row);
    const auto count = static_cast<hsize_t>(local_rows);
    images_->set_rows(static_cast<hsize_t>(total_rows));
    images_->write_rows(first, count, batch.pixels.data());
    if (labels_) {
      labels_->set_rows(static_cast<hsize_t>(total_rows));
      labels_->write_rows(first, count, batch.labels.data());
    }
    if (tiles_) {
      tiles_->set_rows(static_cast<hsize_t>(total_rows));
      tiles_->write_rows(first, count, batch.tiles.data());
    }
  });
  spill_strings(batch);
  bytes_written_ += static_cast<std::uint64_t>(total_rows - rows_) * layout_.row_shape.bytes();
  rows_ = total_rows;
  sources_ = total_sources;
}

void DataFileWriter::append(RowBatch& batch, std::int64_t piece_rows, const PixelFill& fill) {
  if (piece_rows < 1 || layout_.tiles || !batch.tiles.empty() || !batch.sources.empty() ||
      !batch.pixels.empty())
    throw Error("internal: DataFileWriter::append with pieces takes whole images only");
  const std::int64_t local_rows = batch.rows();
  const std::int64_t first_row = rows_ + comm_.exscan_sum(local_rows);
  const std::int64_t total_rows = rows_ + comm_.allreduce_sum(local_rows);
  const std::int64_t pieces = comm_.allreduce_max((local_rows + piece_rows - 1) / piece_rows);
  const std::size_t row_bytes = layout_.row_shape.bytes();
  const std::size_t bytes = static_cast<std::size_t>(std::min(local_rows, piece_rows)) * row_bytes;
  if (bytes > piece_bytes_) {
    // Not value-initialised: fill writes every byte that is written out.
    piece_.reset(new std::uint8_t[bytes]);
    piece_bytes_ = bytes;
  }
  mpi::or_abort(comm_, [&] { images_->set_rows(static_cast<hsize_t>(total_rows)); });
  for (std::int64_t piece = 0; piece < pieces; ++piece) {
    const std::int64_t at = std::min(local_rows, piece * piece_rows);
    const std::int64_t count = std::min(piece_rows, local_rows - at);
    fill(at, count, piece_.get());
    mpi::or_abort(comm_, [&] {
      images_->write_rows(static_cast<hsize_t>(first_row + at), static_cast<hsize_t>(count),
                          count > 0 ? piece_.get() : nullptr);
    });
  }
  mpi::or_abort(comm_, [&] {
    if (labels_) {
      labels_->set_rows(static_cast<hsize_t>(total_rows));
      labels_->write_rows(static_cast<hsize_t>(first_row), static_cast<hsize_t>(local_rows),
                          batch.labels.data());
    }
  });
  spill_strings(batch);
  bytes_written_ += static_cast<std::uint64_t>(total_rows - rows_) * row_bytes;
  rows_ = total_rows;
}

void DataFileWriter::spill_strings(const RowBatch& batch) {
  // A one-sided failure here (out of memory on rank 0 while gathering) would leave the other
  // ranks in the gather: it ends the job instead.
  mpi::or_abort(comm_, [&] { gather_and_spill(batch); });
}

void DataFileWriter::gather_and_spill(const RowBatch& batch) {
  std::string names;
  for (const auto& name : batch.names) put_string(names, name);
  const auto all_names = comm_.gather_bytes(names, 0);
  std::string sources;
  for (const auto& source : batch.sources) {
    put_string(sources, source.name);
    put_int(sources, source.height);
    put_int(sources, source.width);
  }
  const auto all_sources = layout_.tiles ? comm_.gather_bytes(sources, 0) : std::vector<char>{};
  // Gathered in rank order, so the spill files are in global row order.
  mpi::collectively(comm_, [&] {
    if (!comm_.is_root()) return;
    put(names_out_.get(), all_names.data(), all_names.size(), names_spill_);
    if (sources_out_)
      put(sources_out_.get(), all_sources.data(), all_sources.size(), sources_spill_);
  });
}

void DataFileWriter::finish(const DataFileMetadata& metadata) {
  mpi::or_abort(comm_, [&] {
    tiles_.reset();
    labels_.reset();
    images_.reset();
    file_->close();
    file_.reset();
  });
  mpi::collectively(comm_, [&] {
    if (!comm_.is_root()) return;
    write_strings_serially(metadata);
    commit_output(temporary_, output_);
  });
  finished_ = true;
  remove_temporaries();
}

void DataFileWriter::write_strings_serially(const DataFileMetadata& metadata) {
  for (auto* spill : {&names_out_, &sources_out_}) {
    if (*spill && std::fflush(spill->get()) != 0)
      throw Error(cat("cannot write temporary files beside ", output_, ": ", std::strerror(errno)));
    spill->reset();
  }
  h5::File file = h5::File::open(temporary_, h5::File::Mode::kReadWrite, nullptr);
  constexpr size_t kBatch = 1 << 16;
  {
    h5::Dataset names = h5::create_string_dataset(file, "/names", static_cast<hsize_t>(rows_),
                                                  {0, layout_.deflate_level, false});
    FilePtr in = open_spill(names_spill_, "rb");
    std::vector<std::string> batch;
    hsize_t written = 0;
    std::string name;
    while (true) {
      const bool more = get_string(in.get(), name);
      if (more) batch.push_back(name);
      if (batch.size() == kBatch || (!more && !batch.empty())) {
        h5::write_strings(names, written, batch);
        written += batch.size();
        batch.clear();
      }
      if (!more) break;
    }
    if (written != static_cast<hsize_t>(rows_))
      throw Error(cat("internal: ", written, " names for ", rows_, " rows of ", output_));
  }
  if (layout_.tiles) {
    h5::Dataset sources =
        create_source_table(file, static_cast<hsize_t>(sources_), layout_.deflate_level);
    FilePtr in = open_spill(sources_spill_, "rb");
    std::vector<SourceRecord> rows;
    hsize_t written = 0;
    std::string name;
    while (true) {
      const bool more = get_string(in.get(), name);
      if (more) {
        const std::int64_t height = get_int(in.get(), sources_spill_);
        rows.push_back({name, height, get_int(in.get(), sources_spill_)});
      }
      if (rows.size() == kBatch || (!more && !rows.empty())) {
        write_sources(sources, written, rows);
        written += rows.size();
        rows.clear();
      }
      if (!more) break;
    }
  }
  if (!metadata.classes.empty()) {
    h5::Dataset classes = h5::create_string_dataset(file, "/classes", metadata.classes.size(),
                                                    {0, layout_.deflate_level, false});
    h5::write_strings(classes, 0, metadata.classes);
  }
  const auto& shape = layout_.row_shape;
  h5::write_format_tag(file, {kDataFormat, kDataVersion});
  h5::write_attribute(file.id(), "height", std::int64_t{shape.height}, output_);
  h5::write_attribute(file.id(), "width", std::int64_t{shape.width}, output_);
  h5::write_attribute(file.id(), "channels", std::int64_t{shape.channels}, output_);
  h5::write_attribute(file.id(), "rows", rows_, output_);
  h5::write_attribute(file.id(), "source", metadata.source, output_);
  h5::write_attribute(file.id(), "skipped_inputs", metadata.skipped_inputs, output_);
  h5::write_attribute(file.id(), "created_by", h5::created_by(), output_);
  file.close();
}

}  // namespace aepipe::data
