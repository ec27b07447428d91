"""Every option of every optimizer, alone and together: the configurations that both the
reference tests (tests/optim/) and the fast-vs-reference tests (tests/fast/) run."""

from tinygrad_edu.optim import SGD, Adagrad, Adam, AdamW, RMSprop

CONFIGS = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, dict(lr=0.05, momentum=0.8, dampening=0.3)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.1, weight_decay=0.01)),
    (SGD, dict(lr=0.1, maximize=True)),
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True, maximize=True)),
    (SGD, dict(lr=0.1, momentum=0.5, dampening=0.1, weight_decay=0.1, maximize=True)),
    (Adam, dict(lr=0.01)),
    (Adam, dict(lr=0.01, weight_decay=0.1)),
    (Adam, dict(lr=0.01, amsgrad=True)),
    (Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, maximize=True)),
    (Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    (AdamW, dict(lr=0.01)),
    (AdamW, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    (AdamW, dict(lr=0.01, weight_decay=0.1, maximize=True)),
    (RMSprop, dict()),
    (RMSprop, dict(lr=0.01, momentum=0.9)),
    (RMSprop, dict(lr=0.01, centered=True)),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    (RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, maximize=True)),
    (Adagrad, dict()),
    (Adagrad, dict(lr=0.1, lr_decay=0.1)),
    (Adagrad, dict(lr=0.1, initial_accumulator_value=0.5, weight_decay=0.1)),
    (Adagrad, dict(lr=0.1, eps=1e-6, maximize=True)),
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)),
]
CONFIG_IDS = [f"{cls.__name__}-" + "-".join(f"{k}={v}" for k, v in kw.items())
              for cls, kw in CONFIGS]
