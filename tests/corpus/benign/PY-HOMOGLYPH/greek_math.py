# Benign look-alike: scientific code with Greek variable names (α, β, σ_x, λ_decay) that are not disguised Latin names.
import math


def decay(t, λ_decay=0.5):
    return math.exp(-λ_decay * t)


def gaussian(x, μ=0.0, σ_x=1.0):
    α = 1 / (σ_x * math.sqrt(2 * math.pi))
    β = -((x - μ) ** 2) / (2 * σ_x**2)
    return α * math.exp(β)
