// The chapter's second exercise: the leading half of each sample's Fourier coefficients.
#pragma once

#include "lamina/expr/dft.hpp"

namespace lamina {

/// For each sample of n real values, its DFT coefficients k = 0 .. ⌊n/2⌋ - 1, real and
/// imaginary parts interleaved in one flat last axis: (Re X_0, Im X_0, Re X_1, Im X_1, ...),
/// what torch.view_as_real(torch.fft.fft(x)[..., :n // 2]).flatten(-2) gives. Width n for an
/// even n (n - 1 for an odd one), so that a Dense after it sees that many features. No
/// parameters; the gradient is the adjoint of the truncated DFT. See lamina::dft_half.
struct FourierHalf {
    template <operand X>
    auto operator()(X const& x) const {
        return dft_half(x);
    }
};

}  // namespace lamina
