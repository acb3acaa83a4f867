// lamina's main job: trains the chapter's custom layers (MyDense with ReLU baked in, and the
// Centered layer) as a 784-256-128-10 MLP on Fashion-MNIST, and reports test accuracy.
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <variant>
#include <vector>

#include <lamina/checkpoint.hpp>
#include <lamina/io/idx.hpp>
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

namespace {

using Net = lm::Sequential<lm::Input<784>, MyDense<256>, CenteredLayer, MyDense<128>, CenteredLayer, lm::Dense<10>>;

struct epoch_metrics {
    std::size_t epoch;
    double train_loss, train_accuracy, test_loss, test_accuracy, seconds;
};

struct options {
    std::size_t epochs = 10;
    std::size_t batch = 128;
    double lr = 0.05;
    std::string optimizer = "sgd";
    std::string schedule = "cosine";
    std::uint64_t seed = 0;
    unsigned threads = 1;
    std::filesystem::path data = lm::io::default_fashion_mnist_dir();
    std::string metrics, plot;
    std::string save, resume;  // checkpoint files
    bool quiet = false;
};

// A number as the shortest text that reads back as the same value.
template <class V>
std::string exact(V v) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// The whole of text as a number, or nothing.
template <class V>
std::optional<V> number(std::string_view text) {
    V v{};
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

// What a checkpoint records of the run besides the weights and the optimizer state, as
// safetensors metadata (a flat map of strings): the settings that decide every later step, each
// under "run.<flag>", and the epochs done under "metrics", one line of comma-separated values
// per epoch.
std::map<std::string, std::string> run_settings(options const& o) {
    return {{"optimizer", o.optimizer}, {"lr", exact(o.lr)}, {"schedule", o.schedule}, {"batch", exact(o.batch)},
            {"seed", exact(o.seed)}};
}

std::map<std::string, std::string> run_metadata(options const& o, std::vector<epoch_metrics> const& rows) {
    std::map<std::string, std::string> meta;
    for (auto const& [flag, value] : run_settings(o)) meta.emplace("run." + flag, value);
    std::string& m = meta["metrics"];
    for (auto const& r : rows)
        m += exact(r.epoch) + ',' + exact(r.train_loss) + ',' + exact(r.train_accuracy) + ',' + exact(r.test_loss) + ',' +
             exact(r.test_accuracy) + ',' + exact(r.seconds) + '\n';
    return meta;
}

using optimizer = std::variant<lm::optim::sgd<Net>, lm::optim::adam<Net>, lm::optim::adamw<Net>>;

optimizer make_optimizer(Net& net, options const& o) {
    if (o.optimizer == "sgd") return lm::optim::sgd(net, {.lr = o.lr, .momentum = 0.9});
    if (o.optimizer == "nesterov") return lm::optim::sgd(net, {.lr = o.lr, .momentum = 0.9, .nesterov = true});
    if (o.optimizer == "adam") return lm::optim::adam(net, {.lr = o.lr});
    return lm::optim::adamw(net, {.lr = o.lr, .weight_decay = 0.01});
}

double scheduled_lr(options const& o, std::size_t epoch) {
    if (o.schedule == "cosine") return lm::optim::cosine_schedule{.total = o.epochs}(o.lr, epoch);
    if (o.schedule == "step") return lm::optim::step_schedule{.step_size = (o.epochs + 2) / 3, .gamma = 0.1}(o.lr, epoch);
    return o.lr;
}

/// One line that redraws itself on a terminal; nothing until the epoch ends otherwise.
class progress {
public:
    explicit progress(bool tty) : tty_(tty) {}
    void update(std::size_t epoch, std::size_t done, std::size_t total, double loss, double samples_per_s) {
        if (!tty_) return;
        constexpr std::size_t width = 30;
        std::size_t const fill = total ? done * width / total : width;
        std::string bar(fill, '=');
        if (fill < width) bar += '>' + std::string(width - fill - 1, ' ');
        std::fprintf(stdout, "\repoch %2zu [%s] %zu/%zu  loss %.4f  %.0f samples/s ", epoch, bar.c_str(), done, total, loss,
                     samples_per_s);
        std::fflush(stdout);
    }
    void finish() {
        if (tty_) std::fputs("\r\033[K", stdout);
    }

private:
    bool tty_;
};

/// Mean loss and accuracy over a dataset, in inference mode.
std::pair<double, double> evaluate(Net& net, lm::io::dataset const& ds) {
    net.eval();
    lm::data_loader loader(ds.images.view(), ds.labels, {.batch_size = 1000});
    double loss = 0, acc = 0;
    for (auto [x, y] : loader.epoch()) {
        auto Y = net(x);
        loss += static_cast<double>(lm::cross_entropy(Y, y).item()) * static_cast<double>(y.size());
        acc += lm::accuracy(Y, y) * static_cast<double>(y.size());
    }
    auto const n = static_cast<double>(ds.size());
    return {loss / n, acc / n};
}

void write_metrics(std::string const& path, std::vector<epoch_metrics> const& rows) {
    std::ostringstream out;
    out << "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds\n";
    for (auto const& r : rows) {
        char line[160];
        std::snprintf(line, sizeof line, "%zu,%.6f,%.6f,%.6f,%.6f,%.3f\n", r.epoch, r.train_loss, r.train_accuracy,
                      r.test_loss, r.test_accuracy, r.seconds);
        out << line;
    }
    std::ofstream f(path);
    f << out.str();
    if (!f.flush()) throw lm::error("fashion_mnist: cannot write the metrics file '" + path + "'");
}

/// Loss and accuracy curves, drawn by gnuplot (Debian's gnuplot-nox) into a PNG.
void draw_plot(std::string const& path, std::vector<epoch_metrics> const& rows) {
    std::filesystem::path const data = std::filesystem::path(path).replace_extension(".plot-data");
    {
        std::ofstream d(data);
        for (auto const& r : rows)
            d << r.epoch << ' ' << r.train_loss << ' ' << r.test_loss << ' ' << r.train_accuracy << ' ' << r.test_accuracy << '\n';
    }
    std::FILE* gp = popen("gnuplot", "w");
    if (!gp) throw lm::error("fashion_mnist: cannot start gnuplot to draw '" + path + "'");
    std::fprintf(gp,
                 "set terminal pngcairo size 1000,420 font 'sans,10'\n"
                 "set output '%s'\n"
                 "set multiplot layout 1,2 title 'lamina: MyDense-Centered MLP on Fashion-MNIST'\n"
                 "set xlabel 'epoch'; set grid; set key top right\n"
                 "set title 'cross-entropy loss'\n"
                 "plot '%s' using 1:2 with linespoints title 'train', '' using 1:3 with linespoints title 'test'\n"
                 "set title 'accuracy'; set key bottom right\n"
                 "plot '%s' using 1:4 with linespoints title 'train', '' using 1:5 with linespoints title 'test'\n"
                 "unset multiplot\n",
                 path.c_str(), data.c_str(), data.c_str());
    int const status = pclose(gp);
    std::filesystem::remove(data);
    if (status != 0) throw lm::error("fashion_mnist: gnuplot failed to draw '" + path + "' (is gnuplot installed?)");
}

int run(options const& o, std::vector<epoch_metrics> const& resumed) {
    auto train = lm::io::load_fashion_mnist(o.data, lm::io::split::train);
    auto test = lm::io::load_fashion_mnist(o.data, lm::io::split::test);
    // Standardize the pixels with the training set's mean and deviation (torchvision's Normalize).
    float const mean = lm::mean(train.images).item();
    float const sd = std::sqrt(lm::mean(lm::square(train.images - mean)).item());
    for (auto* images : {&train.images, &test.images})  // in place: no second copy of 188 MB to fault in
        for (float& v : *images) v = (v - mean) / sd;

    lm::set_num_threads(o.threads);
    Net net;
    lm::generator gen(o.seed);
    net.initialize(lm::init::uniform_fan_in{}, gen);  // PyTorch's nn.Linear weights; zero biases
    optimizer opt = make_optimizer(net, o);
    lm::data_loader loader(train.images.view(), train.labels, {.batch_size = o.batch, .shuffle = true, .seed = o.seed});
    progress bar(isatty(fileno(stdout)) != 0 && !o.quiet);

    std::cout << lm::summary(net) << "training on " << train.size() << " images, testing on " << test.size() << "; "
              << o.optimizer << " lr " << o.lr << " (" << o.schedule << "), batch " << o.batch << ", " << o.epochs
              << " epochs, seed " << o.seed << "\n";
    std::vector<epoch_metrics> rows = resumed;
    if (!o.resume.empty()) {
        std::visit([&](auto& op) { lm::load_checkpoint(net, op, o.resume); }, opt);
        loader.set_epoch(rows.size());
        std::cout << "resuming from " << o.resume << " after epoch " << rows.size() << "\n";
    }
    for (std::size_t epoch = rows.size() + 1; epoch <= o.epochs; ++epoch) {
        double const lr = scheduled_lr(o, epoch - 1);
        std::visit([&](auto& op) { op.lr(lr); }, opt);
        auto const t0 = std::chrono::steady_clock::now();
        net.train();
        double loss_sum = 0, hits = 0;
        std::size_t seen = 0, b = 0;
        for (auto [x, y] : loader.epoch()) {
            ++b;
            auto Y = net(x);
            float const loss = net.backward(lm::cross_entropy(Y, y));
            if (!std::isfinite(loss))
                throw lm::error("fashion_mnist: the loss became " + std::to_string(loss) + " at epoch " +
                                std::to_string(epoch) + ", batch " + std::to_string(b) + " (try a smaller --lr)");
            hits += lm::accuracy(Y, y) * static_cast<double>(y.size());
            std::visit([](auto& op) { op.step(); }, opt);
            net.zero_grad();
            loss_sum += static_cast<double>(loss) * static_cast<double>(y.size());
            seen += y.size();
            if (b % 16 == 0 || b == loader.size()) {
                double const s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                bar.update(epoch, b, loader.size(), loss_sum / static_cast<double>(seen), static_cast<double>(seen) / s);
            }
        }
        double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        bar.finish();
        auto const [test_loss, test_acc] = evaluate(net, test);
        rows.push_back({epoch, loss_sum / static_cast<double>(seen), hits / static_cast<double>(seen), test_loss, test_acc, seconds});
        auto const& r = rows.back();
        std::printf("epoch %2zu  train loss %.4f  acc %.4f | test loss %.4f  acc %.4f | %.1f s, %.0f samples/s\n", epoch,
                    r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy, seconds, static_cast<double>(seen) / seconds);
        std::fflush(stdout);
        if (!o.metrics.empty()) write_metrics(o.metrics, rows);
        if (!o.save.empty())
            std::visit([&](auto& op) {
                lm::save_checkpoint(net, op, o.save, run_metadata(o, rows));
            }, opt);
    }
    if (!o.plot.empty()) draw_plot(o.plot, rows);
    std::printf("test accuracy: %.4f\n", rows.empty() ? 0.0 : rows.back().test_accuracy);
    return 0;
}

constexpr char usage[] = R"(Trains the d2l chapter's custom layers (MyDense, CenteredLayer) on Fashion-MNIST with lamina.
Usage: fashion_mnist [options]
  --epochs N         passes over the training set (1 to 1000; default 10)
  --batch N          mini-batch size (1 to 60000; default 128)
  --lr X             base learning rate (> 0; default 0.05)
  --optimizer NAME   sgd (momentum 0.9), nesterov, adam or adamw (default sgd)
  --schedule NAME    learning-rate schedule over the epochs: cosine, step or none (default cosine)
  --seed N           seeds the initial weights and the shuffling (default 0)
  --threads N        threads for the matrix products; results do not depend on it (default 1)
  --data DIR         directory with the Fashion-MNIST IDX files (.gz; default Debian's)
  --metrics FILE     write one CSV row per epoch to this file
  --plot FILE        draw the loss and accuracy curves into this PNG (gnuplot)
  --save FILE        after every epoch, write a checkpoint (weights, optimizer state, metrics)
  --resume FILE      continue the run a --save checkpoint stored, up to --epochs in all
  --quiet            no progress bar
  --help             this text
)";

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class N>
N whole(std::string_view flag, std::string_view text, N lo, N hi) {
    auto const v = number<N>(text);
    if (!v || *v < lo || *v > hi)
        throw usage_error("--" + std::string(flag) + " takes a whole number from " + std::to_string(lo) + " to " +
                          std::to_string(hi) + ", not '" + std::string(text) + "'");
    return *v;
}

std::string one_of(std::string_view flag, std::string_view text, std::initializer_list<std::string_view> names) {
    std::string list;
    for (auto n : names) {
        if (n == text) return std::string(text);
        list += (list.empty() ? "" : ", ") + std::string(n);
    }
    throw usage_error("--" + std::string(flag) + " takes one of " + list + ", not '" + std::string(text) + "'");
}

// Sets the option of that name from its text, checked (usage_error names the flag, the value
// and what it takes): the command line's flags and the settings a checkpoint stores.
void set(options& o, std::string const& flag, std::string_view arg) {
    if (flag == "epochs") o.epochs = whole<std::size_t>(flag, arg, 1, 1000);
    else if (flag == "batch") o.batch = whole<std::size_t>(flag, arg, 1, 60000);
    else if (flag == "seed") o.seed = whole<std::uint64_t>(flag, arg, 0, UINT64_MAX);
    else if (flag == "threads") o.threads = whole<unsigned>(flag, arg, 1, std::max(64u, std::thread::hardware_concurrency()));
    else if (flag == "optimizer") o.optimizer = one_of(flag, arg, {"sgd", "nesterov", "adam", "adamw"});
    else if (flag == "schedule") o.schedule = one_of(flag, arg, {"cosine", "step", "none"});
    else if (flag == "data") o.data = std::string(arg);
    else if (flag == "metrics") o.metrics = arg;
    else if (flag == "plot") o.plot = arg;
    else if (flag == "save") o.save = arg;
    else if (flag == "resume") o.resume = arg;
    else if (flag == "quiet") o.quiet = true;
    else if (flag == "lr") {
        auto const lr = number<double>(arg);
        if (!lr || !(*lr > 0) || !std::isfinite(*lr))
            throw usage_error("--lr takes a positive number, not '" + std::string(arg) + "'");
        o.lr = *lr;
    }
}

/// The flags (getopt_long), checked; `given` receives the names of those on the command line.
options parse(int argc, char** argv, std::set<std::string>& given) {
    static option const longs[] = {{"epochs", required_argument, nullptr, 0},   {"batch", required_argument, nullptr, 0},
                                   {"lr", required_argument, nullptr, 0},       {"optimizer", required_argument, nullptr, 0},
                                   {"schedule", required_argument, nullptr, 0}, {"seed", required_argument, nullptr, 0},
                                   {"threads", required_argument, nullptr, 0},  {"data", required_argument, nullptr, 0},
                                   {"metrics", required_argument, nullptr, 0},  {"plot", required_argument, nullptr, 0},
                                   {"save", required_argument, nullptr, 0},     {"resume", required_argument, nullptr, 0},
                                   {"quiet", no_argument, nullptr, 0},          {"help", no_argument, nullptr, 'h'},
                                   {nullptr, 0, nullptr, 0}};
    options o;
    opterr = 0;
    for (int index = 0, c; (c = getopt_long(argc, argv, ":h", longs, &index)) != -1;) {
        if (c == 'h') {
            std::fputs(usage, stdout);
            std::exit(0);
        }
        if (c == '?') throw usage_error(std::string("unknown option '") + argv[optind - 1] + "'");
        if (c == ':') throw usage_error(std::string(argv[optind - 1]) + " needs a value");
        std::string const flag = longs[index].name;
        std::string_view const arg = optarg ? optarg : "";
        given.insert(flag);
        set(o, flag, arg);
    }
    if (optind < argc) throw usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    if (!o.resume.empty() && !std::filesystem::is_regular_file(o.resume))
        throw usage_error("--resume: no file '" + o.resume + "'");
    return o;
}

// The run stored in a checkpoint: its settings replace o's (a flag the user gave that differs
// is an error), its metrics are the epochs done. Every value is checked as its flag would be.
std::vector<epoch_metrics> resume_settings(options& o, std::vector<std::string> const& given) {
    auto const file = lm::io::read_safetensors(o.resume);
    auto const& meta = file.metadata();
    std::string const where = "fashion_mnist --resume " + o.resume;
    if (!meta.contains("metrics") || !meta.contains("run.optimizer"))
        throw lm::error(where + ": not a checkpoint of this program (no \"run.*\" and \"metrics\" metadata; --save writes them)");
    auto const malformed = [&](std::string const& what) { return lm::error(where + ": malformed checkpoint metadata: " + what); };
    options stored = o;
    for (auto const& [flag, value] : run_settings(o)) {
        auto const it = meta.find("run." + flag);
        if (it == meta.end()) throw malformed("no \"run." + flag + "\"");
        if (std::ranges::find(given, flag) != given.end() && it->second != value)
            throw lm::error(where + ": the checkpoint was made with --" + flag + " " + it->second + ", not " + value +
                            "; a resumed run keeps its settings (drop --" + flag + ")");
        try {
            set(stored, flag, it->second);
        } catch (usage_error const& e) {
            throw malformed("\"run." + flag + "\": " + e.what());
        }
    }
    std::vector<epoch_metrics> rows;
    std::istringstream lines(meta.at("metrics"));
    for (std::string line; std::getline(lines, line);) {
        // Exactly six fields, each a number: epoch, train loss and accuracy, test loss and
        // accuracy, seconds.
        std::vector<std::string_view> fields;
        for (std::size_t at = 0;;) {
            std::size_t const comma = line.find(',', at);
            fields.push_back(std::string_view(line).substr(at, comma - at));
            if (comma == std::string::npos) break;
            at = comma + 1;
        }
        auto const epoch = number<std::size_t>(fields[0]);
        std::vector<double> v;
        for (std::size_t i = 1; i < fields.size(); ++i)
            if (auto const x = number<double>(fields[i])) v.push_back(*x);
        if (fields.size() != 6 || v.size() != 5 || !epoch || *epoch != rows.size() + 1)
            throw malformed("the \"metrics\" line \"" + line + "\" is not epoch " + std::to_string(rows.size() + 1) +
                            " and 5 numbers");
        rows.push_back({*epoch, v[0], v[1], v[2], v[3], v[4]});
    }
    if (rows.empty()) throw malformed("\"metrics\" holds no epoch");
    o = stored;
    return rows;
}

}  // namespace

int main(int argc, char** argv) {
    std::set<std::string> given;
    options o;
    try {
        o = parse(argc, argv, given);
    } catch (usage_error const& e) {
        std::cerr << "error: " << e.what() << "\nRun with --help for the options.\n";
        return 2;
    }
    try {
        std::vector<epoch_metrics> resumed;
        if (!o.resume.empty()) {
            std::vector<std::string> flags;
            for (std::string flag : {"optimizer", "lr", "schedule", "batch", "seed"})
                if (given.contains(flag)) flags.push_back(flag);
            resumed = resume_settings(o, flags);
        }
        return run(o, resumed);
    } catch (std::exception const& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
