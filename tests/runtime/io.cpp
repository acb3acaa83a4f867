// lamina/io/idx.hpp and lamina/io/batches.hpp: IDX files, Fashion-MNIST, mini-batches.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <random>
#include <ranges>
#include <string>
#include <type_traits>
#include <vector>

#include <zlib.h>

#include <catch2/catch.hpp>

#include <lamina/io/batches.hpp>
#include <lamina/io/idx.hpp>

#include "support.hpp"

namespace fs = std::filesystem;
namespace lm = lamina;
using lamina_test::message_has;
using bytes = std::vector<std::uint8_t>;

namespace {

using lamina_test::temp_dir;

/// An IDX file's bytes: the magic, big-endian dimensions, then the data as given.
bytes idx(std::vector<std::uint32_t> const& dims, bytes const& data, std::uint8_t type = 0x08) {
    bytes b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (auto d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(d >> shift));
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

bytes counting(std::size_t n) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return b;
}

fs::path write_raw(fs::path const& p, bytes const& b) {
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<char const*>(b.data()), static_cast<std::streamsize>(b.size()));
    return p;
}

fs::path write_gz(fs::path const& p, bytes const& b) {
    gzFile f = gzopen(p.string().c_str(), "wb");
    REQUIRE(f != nullptr);
    if (!b.empty()) REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
    REQUIRE(gzclose(f) == Z_OK);
    return p;
}

bytes read_raw(fs::path const& p) {
    std::ifstream in(p, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), {});
}

/// A Fashion-MNIST-shaped dataset directory: n images whose pixel k of image i is (i + k) % 256.
void write_fashion(temp_dir const& dir, std::string const& stem, bytes const& labels, bool gz = true) {
    auto const n = static_cast<std::uint32_t>(labels.size());
    bytes pixels(std::size_t{n} * 784);
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i / 784 + i % 784);
    auto const write = gz ? write_gz : write_raw;
    auto const ext = gz ? ".gz" : "";
    write(dir / (stem + "-images-idx3-ubyte" + ext), idx({n, 28, 28}, pixels));
    write(dir / (stem + "-labels-idx1-ubyte" + ext), idx({n}, labels));
}

}  // namespace

TEST_CASE("An IDX file reads back with its dimensions and bytes, gzip-compressed or not", "[io]") {
    temp_dir dir;
    auto const data = counting(3 * 4 * 5);
    auto const b = idx({3, 4, 5}, data);
    for (auto const& p : {write_gz(dir / "a.gz", b), write_raw(dir / "a.idx", b)}) {
        INFO(p);
        auto const f = lm::io::read_idx(p);
        CHECK(f.dims == std::vector<std::size_t>{3, 4, 5});
        CHECK(f.data == data);
    }
    // Extents past 16 bits check the big-endian decoding of every byte.
    auto const big = lm::io::read_idx(write_gz(dir / "b.gz", idx({0x010203, 1}, counting(0x010203))));
    CHECK(big.dims == std::vector<std::size_t>{0x010203, 1});
    CHECK(big.data == counting(0x010203));
}

TEST_CASE("An IDX file with an empty extent reads back with no data", "[io]") {
    temp_dir dir;
    auto const f = lm::io::read_idx(write_gz(dir / "empty.gz", idx({0, 28, 28}, {})));
    CHECK(f.dims == std::vector<std::size_t>{0, 28, 28});
    CHECK(f.data.empty());
}

TEST_CASE("Reading a missing file or a directory names it and says what is wrong", "[io]") {
    temp_dir dir;
    CHECK_THROWS_MATCHES(lm::io::read_idx(dir / "nothing-here.gz"), lm::error,
                         message_has({"nothing-here.gz", "does not exist", "expected an IDX file"}));
    CHECK_THROWS_MATCHES(lm::io::read_idx(dir.path), lm::error, message_has({dir.path.string(), "is a directory"}));
}

TEST_CASE("A file that ends inside its header says how far it got", "[io]") {
    temp_dir dir;
    CHECK_THROWS_MATCHES(lm::io::read_idx(write_raw(dir / "zero.idx", {})), lm::error,
                         message_has({"zero.idx", "ends after 0 bytes, inside its header"}));
    CHECK_THROWS_MATCHES(lm::io::read_idx(write_gz(dir / "two.gz", {0, 0})), lm::error,
                         message_has({"two.gz", "ends after 2 bytes, inside its header", "4 bytes"}));
    CHECK_THROWS_MATCHES(lm::io::read_idx(write_gz(dir / "dims.gz", {0, 0, 8, 3, 0, 0, 0, 1, 0, 0})), lm::error,
                         message_has({"dims.gz", "declares 3 dimensions (12 bytes) but only 6 bytes of them follow"}));
}

TEST_CASE("A file without the IDX magic bytes is rejected with the bytes it found", "[io]") {
    temp_dir dir;
    auto const png = write_raw(dir / "picture.png", {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    CHECK_THROWS_MATCHES(lm::io::read_idx(png), lm::error,
                         message_has({"picture.png", "magic bytes 0x89 0x50", "starts with 0x00 0x00"}));
}

TEST_CASE("Element types other than unsigned byte, and a rank of 0, are rejected by name", "[io]") {
    temp_dir dir;
    CHECK_THROWS_MATCHES(lm::io::read_idx(write_gz(dir / "floats.gz", idx({1}, {0, 0, 0, 0}, 0x0D))), lm::error,
                         message_has({"floats.gz", "type 0x0d (float)", "only 0x08 (unsigned byte)"}));
    CHECK_THROWS_MATCHES(lm::io::read_idx(write_gz(dir / "odd.gz", idx({1}, {0}, 0x42))), lm::error,
                         message_has({"odd.gz", "type 0x42 (not an IDX type)"}));
    CHECK_THROWS_MATCHES(lm::io::read_idx(write_gz(dir / "scalar.gz", idx({}, {7}))), lm::error,
                         message_has({"scalar.gz", "declares 0 dimensions; expected at least 1"}));
}

TEST_CASE("Dimensions whose product overflows or is absurd are rejected before anything is allocated", "[io]") {
    temp_dir dir;
    // 2^96 bytes overflows any size_t; 2^32 is representable but absurd for a dataset file.
    auto const huge = write_gz(dir / "huge.gz", idx({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
    CHECK_THROWS_MATCHES(lm::io::read_idx(huge), lm::error,
                         message_has({"huge.gz", "4294967295 x 4294967295 x 4294967295",
                                      "promise more than 2147483648 bytes"}));
    auto const big = write_gz(dir / "big.gz", idx({65536, 65536}, {}));
    CHECK_THROWS_MATCHES(lm::io::read_idx(big), lm::error,
                         message_has({"big.gz", "65536 x 65536", "the most read_idx accepts"}));
}

TEST_CASE("Data shorter than the header promises is reported with both counts", "[io]") {
    temp_dir dir;
    auto const b = idx({10, 28, 28}, counting(1234));
    for (auto const& p : {write_gz(dir / "short.gz", b), write_raw(dir / "short.idx", b)}) {
        INFO(p);
        CHECK_THROWS_MATCHES(lm::io::read_idx(p), lm::error,
                             message_has({p.filename().string(),
                                          "holds 1234 bytes of data but its header promises 7840 (10 x 28 x 28)"}));
    }
}

TEST_CASE("Bytes after the data the header promises are rejected", "[io]") {
    temp_dir dir;
    auto const b = idx({2, 2}, counting(7));
    for (auto const& p : {write_gz(dir / "long.gz", b), write_raw(dir / "long.idx", b)}) {
        INFO(p);
        CHECK_THROWS_MATCHES(lm::io::read_idx(p), lm::error,
                             message_has({p.filename().string(), "has 3 trailing bytes after the 4 bytes"}));
    }
}

TEST_CASE("A corrupt or truncated gzip stream is reported with zlib's reason", "[io]") {
    temp_dir dir;
    // Incompressible data, so that cutting the stream short also cuts the data short.
    bytes data(100000);
    std::mt19937 rng(1);
    for (auto& x : data) x = static_cast<std::uint8_t>(rng());
    auto const gz = read_raw(write_gz(dir / "good.gz", idx({100000}, data)));
    REQUIRE(lm::io::read_idx(dir / "good.gz").data == data);

    auto const cut = write_raw(dir / "cut.gz", bytes(gz.begin(), gz.begin() + 50000));
    CHECK_THROWS_MATCHES(lm::io::read_idx(cut), lm::error,
                         message_has({"cut.gz", "corrupt or truncated gzip", "unexpected end of file"}));
    auto flipped = gz;
    flipped[flipped.size() - 6] ^= 1;  // inside the CRC-32 of the trailer
    CHECK_THROWS_MATCHES(lm::io::read_idx(write_raw(dir / "crc.gz", flipped)), lm::error,
                         message_has({"crc.gz", "corrupt or truncated gzip", "incorrect data check"}));
    bytes const bad_block = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff};  // a gzip header, then block type 3
    CHECK_THROWS_MATCHES(lm::io::read_idx(write_raw(dir / "block.gz", bad_block)), lm::error,
                         message_has({"block.gz", "corrupt or truncated gzip", "invalid block type"}));
}

TEST_CASE("A Fashion-MNIST directory loads as pixels scaled to [0, 1] with their labels", "[io]") {
    temp_dir dir;
    bytes const train_labels = {9, 0, 0, 3, 0, 2, 7}, test_labels = {1, 8, 4};
    write_fashion(dir, "train", train_labels);
    write_fashion(dir, "t10k", test_labels, false);  // uncompressed files are found too

    auto const train = lm::io::load_fashion_mnist(dir.path, lm::io::split::train);
    REQUIRE(train.size() == 7);
    REQUIRE(train.images.batch() == 7);
    CHECK(train.labels == std::vector<std::int32_t>{9, 0, 0, 3, 0, 2, 7});
    bool scaled = true;
    for (std::size_t i = 0; i < 7; ++i)
        for (std::size_t k = 0; k < 784; ++k)
            scaled = scaled && train.images(i, k) == static_cast<float>((i + k) % 256) / 255.f;
    CHECK(scaled);
    CHECK(train.images(0, 0) == 0.f);
    CHECK(train.images(0, 255) == 1.f);
    CHECK(train.images(0, 51) == 0.2f);

    auto const test = lm::io::load_fashion_mnist(dir.path, lm::io::split::test);
    CHECK(test.labels == std::vector<std::int32_t>{1, 8, 4});
    CHECK(test.images(2, 10) == 12.f / 255.f);
}

TEST_CASE("A Fashion-MNIST directory with wrong shapes, counts or labels names the file at fault", "[io]") {
    temp_dir dir;
    auto const images = dir / "train-images-idx3-ubyte.gz", labels = dir / "train-labels-idx1-ubyte.gz";
    auto const load = [&] { return lm::io::load_fashion_mnist(dir.path, lm::io::split::train); };

    CHECK_THROWS_MATCHES(load(), lm::error,
                         message_has({"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte\"", "exists",
                                      "dataset-fashion-mnist"}));
    write_gz(images, idx({2, 28, 27}, counting(2 * 28 * 27)));
    write_gz(labels, idx({2}, {1, 2}));
    CHECK_THROWS_MATCHES(load(), lm::error,
                         message_has({"train-images-idx3-ubyte.gz", "2 x 28 x 27", "expected images of n x 28 x 28"}));
    write_gz(images, idx({2, 28, 28}, counting(2 * 784)));
    write_gz(labels, idx({2, 1}, {1, 2}));
    CHECK_THROWS_MATCHES(load(), lm::error,
                         message_has({"train-labels-idx1-ubyte.gz", "2 x 1", "expected labels of n"}));
    write_gz(labels, idx({3}, {1, 2, 3}));
    CHECK_THROWS_MATCHES(load(), lm::error,
                         message_has({"train-labels-idx1-ubyte.gz", "holds 3 labels", "train-images-idx3-ubyte.gz",
                                      "holds 2 images"}));
    write_gz(labels, idx({2}, {1, 10}));
    CHECK_THROWS_MATCHES(load(), lm::error,
                         message_has({"train-labels-idx1-ubyte.gz", "label 10 at index 1", "expected classes 0 to 9"}));
    write_gz(labels, idx({2}, {1, 2, 3}));  // errors of read_idx come through as they are
    CHECK_THROWS_MATCHES(load(), lm::error, message_has({"train-labels-idx1-ubyte.gz", "has 1 trailing byte after"}));
    write_gz(labels, idx({2}, {0, 9}));
    CHECK(load().labels == std::vector<std::int32_t>{0, 9});
}

TEST_CASE("Debian's Fashion-MNIST files, where installed, hold 60000 and 10000 labeled images", "[io][debian]") {
    auto const dir = lm::io::default_fashion_mnist_dir();
    if (!fs::exists(dir / "train-images-idx3-ubyte.gz")) {
        WARN("skipped: " << dir << " is not installed (Debian package dataset-fashion-mnist)");
        SUCCEED();
        return;
    }
    auto const train = lm::io::load_fashion_mnist(dir, lm::io::split::train);
    auto const test = lm::io::load_fashion_mnist(dir, lm::io::split::test);
    REQUIRE(train.size() == 60000);
    REQUIRE(train.images.batch() == 60000);
    REQUIRE(test.size() == 10000);
    // The first labels as the files hold them (9 is "ankle boot"); 6000 and 1000 of each class.
    auto const first10 = [](std::vector<std::int32_t> const& v) { return std::vector(v.begin(), v.begin() + 10); };
    CHECK(first10(train.labels) == std::vector<std::int32_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5});
    CHECK(first10(test.labels) == std::vector<std::int32_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7});
    for (std::int32_t c = 0; c < 10; ++c) {
        CHECK(std::ranges::count(train.labels, c) == 6000);
        CHECK(std::ranges::count(test.labels, c) == 1000);
    }
    auto const [lo, hi] = std::ranges::minmax(train.images);
    CHECK(lo == 0.f);
    CHECK(hi == 1.f);
    // The first image's bytes sum to 76247; x / 255 in float scales back exactly.
    long bytes_sum = 0;
    for (std::size_t k = 0; k < 784; ++k) bytes_sum += std::lround(train.images(0, k) * 255.0);
    CHECK(bytes_sum == 76247);
}

namespace {

/// n samples of 3 features: sample i holds (i, 10 i, 100 i), label i % 10.
struct toy {
    lm::tensor<float, lm::shape<lm::dyn, 3>> x;
    std::vector<std::int32_t> y;
    explicit toy(std::size_t n) : x(n), y(n) {
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t k = 0; k < 3; ++k) x(i, k) = static_cast<float>(i * (k == 0 ? 1 : k == 1 ? 10 : 100));
            y[i] = static_cast<std::int32_t>(i % 10);
        }
    }
};

/// The samples of one epoch in the order the batches yield them (read back from the rows),
/// with the batch sizes; also checks each row against its label.
struct epoch_seen {
    std::vector<std::size_t> samples, sizes;
    bool rows_match = true;
};

template <class L>
epoch_seen run_epoch(L& loader) {
    epoch_seen e;
    for (auto [x, y] : loader.epoch()) {
        e.sizes.push_back(x.batch());
        e.rows_match = e.rows_match && y.size() == x.batch();
        for (std::size_t r = 0; r < x.batch(); ++r) {
            auto const i = static_cast<std::size_t>(x(r, 0));
            e.samples.push_back(i);
            e.rows_match = e.rows_match && x(r, 1) == 10.f * x(r, 0) && x(r, 2) == 100.f * x(r, 0) &&
                           y[r] == static_cast<std::int32_t>(i % 10);
        }
    }
    return e;
}

std::vector<std::size_t> iota(std::size_t n) {
    std::vector<std::size_t> v(n);
    std::iota(v.begin(), v.end(), std::size_t{0});
    return v;
}

}  // namespace

TEST_CASE("A loader splits a count its batch size does not divide into full batches and a smaller last one",
          "[io][loader]") {
    toy d(10);
    lm::data_loader loader(d.x, d.y, {.batch_size = 4});
    STATIC_REQUIRE(std::is_same_v<decltype(loader), lm::data_loader<lm::shape<lm::dyn, 3>>>);
    STATIC_REQUIRE(std::ranges::input_range<decltype(loader.epoch())>);
    CHECK(loader.size() == 3);
    CHECK(loader.samples() == 10);
    CHECK(loader.batch_size() == 4);
    auto const e = run_epoch(loader);
    CHECK(e.sizes == std::vector<std::size_t>{4, 4, 2});
    CHECK(e.samples == iota(10));  // no shuffle: the identity order
    CHECK(e.rows_match);

    lm::data_loader exact(d.x, d.y, {.batch_size = 5});
    CHECK(run_epoch(exact).sizes == std::vector<std::size_t>{5, 5});
    lm::data_loader one(d.x, d.y, {.batch_size = 32});  // larger than the data: one batch of all
    CHECK(run_epoch(one).sizes == std::vector<std::size_t>{10});
    toy none(0);
    lm::data_loader empty(none.x, none.y, {.batch_size = 4});
    CHECK(empty.size() == 0);
    CHECK(run_epoch(empty).sizes.empty());
}

TEST_CASE("A shuffling loader yields every sample exactly once per epoch, in a new order each epoch", "[io][loader]") {
    toy d(103);
    lm::data_loader loader(d.x, d.y, {.batch_size = 8, .shuffle = true, .seed = 5});
    std::vector<std::vector<std::size_t>> orders;
    for (int epoch = 0; epoch < 3; ++epoch) {
        auto const e = run_epoch(loader);
        CHECK(e.rows_match);
        CHECK(e.sizes.size() == 13);
        CHECK(e.sizes.back() == 7);
        CHECK(std::vector(loader.order().begin(), loader.order().end()) == e.samples);
        auto sorted = e.samples;
        std::ranges::sort(sorted);
        CHECK(sorted == iota(103));
        CHECK(e.samples != iota(103));
        orders.push_back(e.samples);
    }
    CHECK(orders[0] != orders[1]);
    CHECK(orders[1] != orders[2]);
}

TEST_CASE("The same seed gives the same order, another seed a different one", "[io][loader]") {
    toy d(50);
    auto const orders = [&](std::uint64_t seed) {
        lm::data_loader loader(d.x, d.y, {.batch_size = 7, .shuffle = true, .seed = seed});
        std::vector<std::vector<std::size_t>> o;
        for (int epoch = 0; epoch < 3; ++epoch) o.push_back(run_epoch(loader).samples);
        return o;
    };
    CHECK(orders(11) == orders(11));
    CHECK(orders(11) != orders(12));
    // mt19937_64 and generator::uniform() are defined to the bit, and so is the Fisher-Yates
    // shuffle over them: this order is the same with every standard library and compiler.
    toy ten(10);
    lm::data_loader pinned(ten.x, ten.y, {.batch_size = 10, .shuffle = true, .seed = 1});
    CHECK(run_epoch(pinned).samples == std::vector<std::size_t>{5, 7, 6, 8, 4, 2, 0, 3, 9, 1});
}

TEST_CASE("set_epoch(k) makes the next epoch the (k+1)-th of an uninterrupted run", "[io][loader]") {
    toy d(50);
    lm::data_loader straight(d.x, d.y, {.batch_size = 7, .shuffle = true, .seed = 5});
    std::vector<std::vector<std::size_t>> want;
    for (int epoch = 0; epoch < 4; ++epoch) want.push_back(run_epoch(straight).samples);
    lm::data_loader resumed(d.x, d.y, {.batch_size = 7, .shuffle = true, .seed = 5});
    run_epoch(resumed);  // whatever it did before does not matter
    resumed.set_epoch(2);
    CHECK(run_epoch(resumed).samples == want[2]);
    CHECK(run_epoch(resumed).samples == want[3]);
    resumed.set_epoch(0);
    CHECK(run_epoch(resumed).samples == want[0]);
}

TEST_CASE("Batches are gathered into one buffer that every batch of every epoch reuses", "[io][loader]") {
    toy d(10);
    lm::data_loader loader(d.x, d.y, {.batch_size = 4, .shuffle = true});
    std::vector<float const*> xs;
    std::vector<std::int32_t const*> ys;
    for (int epoch = 0; epoch < 2; ++epoch)
        for (auto [x, y] : loader.epoch()) {
            xs.push_back(x.data());
            ys.push_back(y.data());
        }
    REQUIRE(xs.size() == 6);
    CHECK(std::ranges::count(xs, xs[0]) == 6);
    CHECK(std::ranges::count(ys, ys[0]) == 6);
    CHECK(xs[0] != d.x.data());
}

TEST_CASE("A loader rejects mismatched labels, a batch size of 0 and a batch past the epoch", "[io][loader]") {
    using loader = lm::data_loader<lm::shape<lm::dyn, 3>>;
    toy d(10);
    std::vector<std::int32_t> const nine(9);
    CHECK_THROWS_MATCHES(loader(d.x, nine, {.batch_size = 4}), lm::shape_error,
                         message_has({"10 images but 9 labels"}));
    CHECK_THROWS_MATCHES(loader(d.x, d.y, {.batch_size = 0}), lm::error, message_has({"batch size is 0"}));
    loader l(d.x, d.y, {.batch_size = 4});
    CHECK(l.gather(2).y.size() == 2);
    CHECK_THROWS_MATCHES(l.gather(3), lm::error, message_has({"batch 3 is past the end of an epoch of 3 batches"}));
    // A loader refers to its images: one over a temporary tensor would dangle, so it does not compile.
    STATIC_REQUIRE(!std::is_constructible_v<loader, lm::tensor<float, lm::shape<lm::dyn, 3>>&&,
                                            std::vector<std::int32_t> const&, lm::loader_options>);
    STATIC_REQUIRE(std::is_constructible_v<loader, lm::tensor<float, lm::shape<lm::dyn, 3>> const&,
                                           std::vector<std::int32_t> const&, lm::loader_options>);
}
