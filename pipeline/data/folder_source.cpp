#include "data/folder_source.hpp"

#include "data/image_codec.hpp"
#include "data/image_folder.hpp"
#include "mpi/agreement.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

class FolderSource final : public ImageSource {
 public:
  FolderSource(FolderListing listing, ImageShape first_shape)
      : listing_(std::move(listing)), shape_(first_shape) {}

  std::int64_t size() const override { return static_cast<std::int64_t>(listing_.files.size()); }
  ImageShape natural_shape() const override { return shape_; }
  bool has_labels() const override { return listing_.has_labels(); }
  std::vector<std::string> classes() const override { return listing_.classes; }

  void read(std::int64_t first, std::int64_t count, int channels, ItemSink& sink) override {
    for (std::int64_t index = first; index < first + count; ++index) {
      const FolderEntry& entry = listing_.files[static_cast<size_t>(index)];
      SourceItem item;
      try {
        const auto bytes = read_file_bytes(entry.path);
        item.image = decode_image(bytes, entry.path, channels);
      } catch (const Error& error) {
        sink.bad(index, entry.name, error.what());
        continue;
      }
      item.label = entry.label;
      item.name = entry.name;
      sink.take(index, std::move(item));
    }
  }

 private:
  FolderListing listing_;
  ImageShape shape_;
};

void broadcast_listing(FolderListing& listing, const mpi::Communicator& comm) {
  std::vector<std::string> paths, names;
  std::vector<std::int32_t> labels;
  if (comm.is_root()) {
    for (const auto& file : listing.files) {
      paths.push_back(file.path);
      names.push_back(file.name);
      labels.push_back(file.label);
    }
  }
  comm.broadcast(paths, 0);
  comm.broadcast(names, 0);
  labels.resize(paths.size());
  comm.broadcast(std::span(labels), 0);
  comm.broadcast(listing.classes, 0);
  listing.ignored_files = comm.broadcast(listing.ignored_files, 0);
  if (comm.is_root()) return;
  listing.files.clear();
  for (size_t i = 0; i < paths.size(); ++i)
    listing.files.push_back({std::move(paths[i]), std::move(names[i]), labels[i]});
}

}  // namespace

std::unique_ptr<ImageSource> open_folder_source(const std::vector<std::string>& roots,
                                                const mpi::Communicator& comm) {
  FolderListing listing;
  ImageShape first_shape;
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    listing = list_image_folders(roots);
    if (listing.files.empty())
      throw Error(cat("no image files found in ", roots.front(),
                      roots.size() > 1 ? " and the other folders" : "", " (", listing.ignored_files,
                      " other files ignored)"));
    // The first image whose header reads sets the shape; damaged ones are reported later,
    // in order, by whichever rank decodes them.
    std::string first_failure;
    for (const auto& file : listing.files) {
      try {
        first_shape = probe_image(read_file_bytes(file.path), file.path);
        return;
      } catch (const Error& error) {
        if (first_failure.empty()) first_failure = error.what();
      }
    }
    throw Error(cat("none of the ", listing.files.size(), " image files in ", roots.front(),
                    " can be decoded; the first: ", first_failure));
  });
  broadcast_listing(listing, comm);
  std::int32_t shape[3] = {first_shape.height, first_shape.width, first_shape.channels};
  comm.broadcast(std::span<std::int32_t>(shape, 3), 0);
  return std::make_unique<FolderSource>(std::move(listing),
                                        ImageShape{shape[0], shape[1], shape[2]});
}

}  // namespace aepipe::data
