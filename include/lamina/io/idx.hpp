// IDX dataset files (MNIST, Fashion-MNIST), read straight from their .gz with zlib.
// Needs zlib at link time (-lz; meson: dependency('zlib')).
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "lamina/detail/config.hpp"
#include "lamina/error.hpp"
#include "lamina/shape.hpp"
#include "lamina/tensor.hpp"

namespace lamina::io {

/// The contents of an IDX file of unsigned bytes: extents, outermost first, and the
/// row-major data.
struct idx_file {
    std::vector<std::size_t> dims;
    std::vector<std::uint8_t> data;
};

/// A bad header must not make us allocate: no real IDX file comes near 2 GiB.
inline constexpr std::size_t idx_max_bytes = std::size_t{1} << 31;

/// Reads an IDX file of unsigned bytes (type 0x08), gzip-compressed or not. Throws
/// lamina::error naming the file, what is wrong and what was expected.
LAMINA_DECL idx_file read_idx(std::filesystem::path const& path);

/// The two halves of a dataset.
enum class split { train, test };

/// Images as rows of pixels scaled to [0, 1], with their class labels.
struct dataset {
    tensor<float, shape<dyn, 784>> images;
    std::vector<std::int32_t> labels;
    std::size_t size() const noexcept { return labels.size(); }
};

/// Where Debian's dataset-fashion-mnist package installs the files.
inline std::filesystem::path default_fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

/// Fashion-MNIST (or MNIST: same files) from `dir`: {train,t10k}-{images-idx3,labels-idx1}-ubyte,
/// each either .gz or uncompressed.
LAMINA_DECL dataset load_fashion_mnist(std::filesystem::path const& dir, split s);

}  // namespace lamina::io

#if !defined(LAMINA_SEPARATE_COMPILATION)
#include "lamina/io/impl/idx.ipp"
#endif
