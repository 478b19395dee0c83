#!/usr/bin/python3
"""PyTorch peer of the walkthrough (notebook 01), for the speed benchmarks (issue 13).

One file, several commands (each prints one line `RESULT {json}` last):

  step         the walkthrough's train step on random in-memory batches (bench/accelerate.ts's peer):
               --batch 32 --steps 3 --size 224 [--memory-format channels_last|contiguous]
  walkthrough  the walkthrough itself on image folders: torchvision ImageFolder, the article's
               augmentation (rescale 1/255, shear 0.2 degrees, zoom 0.2, horizontal flip), one
               DataLoader worker, Adam 1e-3 with ReduceLROnPlateau(val_loss, 0.1, patience 2,
               min_lr 1e-6) as in the notebook, validation each epoch, prediction over the test folder:
               --data <folder with train/ valid/ test/> --epochs 8 [--batch 32 --size 224]
  peak         sgemm peak of this machine in PyTorch (torch.mm, fp32), GFLOP/s: [--sizes 1024,2048,4096]
  params       the Keras -> torchvision freezing map and the trainable-parameter counts

The model is torchvision's inception_v3 without its top, randomly initialised (no pretrained weights
are available offline; speed does not depend on the values), initialised like Keras (Glorot-uniform
kernels, zero biases, BatchNormalization mean 0 / variance 1) so activations stay in the same
(normal, not denormal) range as ours. Head as the notebook's: GAP -> Dense 512 relu -> Dropout 0.3 ->
Dense 512 relu -> Dropout 0.3 -> Dense 4 (softmax inside the cross-entropy).

Freezing ("every layer except the last 15", Keras's `base_model.layers[:-15]`): Keras's last 15
layers of InceptionV3 are in block mixed10 (torchvision's Mixed_7c), in Keras's creation order:
  batch_normalization_88 (Mixed_7c.branch3x3_2b.bn), batch_normalization_91 (branch3x3dbl_3a.bn),
  batch_normalization_92 (branch3x3dbl_3b.bn), conv2d_93 (branch_pool.conv), batch_normalization_85
  (branch1x1.bn), activation_87/88/91/92, batch_normalization_93 (branch_pool.bn), activation_85,
  mixed9_1, concatenate_1, activation_93, mixed10.
Keras's BatchNormalization in InceptionV3 has no scale (`scale=False`): only beta trains, so each
mapped torch BatchNorm trains its bias and keeps its weight at 1. The six mapped modules run in
training mode (batch statistics), all other BatchNorms in inference mode, as in Keras.
Trainable parameters: 394,880 in the base + 1,313,796 in the head = 1,708,676, the same as Keras's.

Threads: torch.set_num_threads(2) by default (--threads N). Run with /usr/bin/python3 and
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (bench/walkthrough.ts and bench/accelerate.ts do).
"""
import argparse
import json
import math
import os
import random
import resource
import sys
import threading
import time

T_START = time.perf_counter()

import torch  # noqa: E402
import torchvision  # noqa: E402

# Keras layer name -> torchvision module (in Mixed_7c), for the layers the walkthrough leaves trainable.
KERAS_TRAINABLE = [
    ('batch_normalization_88', 'Mixed_7c.branch3x3_2b.bn', 'beta'),
    ('batch_normalization_91', 'Mixed_7c.branch3x3dbl_3a.bn', 'beta'),
    ('batch_normalization_92', 'Mixed_7c.branch3x3dbl_3b.bn', 'beta'),
    ('conv2d_93', 'Mixed_7c.branch_pool.conv', 'kernel'),
    ('batch_normalization_85', 'Mixed_7c.branch1x1.bn', 'beta'),
    ('batch_normalization_93', 'Mixed_7c.branch_pool.bn', 'beta'),
]
# Weightless layers among Keras's last 15 (nothing to freeze): activation_87/88/91/92/85/93,
# mixed9_1, concatenate_1, mixed10.
KERAS_WEIGHTLESS = ['activation_87', 'activation_88', 'activation_91', 'activation_92', 'activation_85', 'mixed9_1', 'concatenate_1', 'activation_93', 'mixed10']


def peak_rss_mib():
    """Peak RSS of this process and (separately) the largest of its waited-for children, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


class Walkthrough(torch.nn.Module):
    """InceptionV3 (no top) + the notebook's head, frozen as Keras's `layers[:-15]`."""

    def __init__(self, classes=4):
        super().__init__()
        base = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
        base.dropout = torch.nn.Identity()  # Keras's notop model has none
        base.fc = torch.nn.Identity()
        self.base = base
        self.head = torch.nn.Sequential(
            torch.nn.Linear(2048, 512), torch.nn.ReLU(), torch.nn.Dropout(0.3),
            torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Dropout(0.3),
            torch.nn.Linear(512, classes))
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                    torch.nn.init.xavier_uniform_(m.weight)  # Keras's glorot_uniform
                    if m.bias is not None:
                        torch.nn.init.zeros_(m.bias)
                elif isinstance(m, torch.nn.BatchNorm2d):
                    m.reset_parameters()
                    m.momentum = 0.01  # Keras's momentum 0.99
        for p in self.base.parameters():
            p.requires_grad = False
        modules = dict(self.base.named_modules())
        self.trainable_bn = []
        for _, name, what in KERAS_TRAINABLE:
            m = modules[name]
            if what == 'kernel':
                m.weight.requires_grad = True
            else:
                m.bias.requires_grad = True  # beta; gamma stays 1 (Keras: scale=False)
                self.trainable_bn.append(m)

    def train(self, mode=True):
        super().train(mode)
        if mode:
            # Frozen BatchNormalization stays in inference mode (Keras 2 / TF2), trainable ones use batch statistics.
            for m in self.base.modules():
                if isinstance(m, torch.nn.BatchNorm2d) and not any(m is t for t in self.trainable_bn):
                    m.eval()
        return self

    def forward(self, x):
        return self.head(self.base(x))


def counts(model):
    base = sum(p.numel() for p in model.base.parameters() if p.requires_grad)
    head = sum(p.numel() for p in model.head.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {'trainableBase': base, 'trainableHead': head, 'trainable': base + head, 'total': total}


def setup(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    model = Walkthrough()
    if args.memory_format == 'channels_last':
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3, eps=1e-7)
    return model, opt


def to_format(x, args):
    return x.contiguous(memory_format=torch.channels_last) if args.memory_format == 'channels_last' else x


def backend(args):
    return 'PyTorch %s CPU (%d threads, %s)' % (torch.__version__, torch.get_num_threads(), args.memory_format.replace('_', '-'))


def cmd_step(args):
    model, opt = setup(args)
    model.train()
    x = to_format(torch.rand(args.batch, 3, args.size, args.size), args)
    y = torch.randint(0, 4, (args.batch,))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    t = time.perf_counter()
    step()
    warmup = time.perf_counter() - t
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    dt = sum(times)
    out = {'phase': 'torch', 'backend': backend(args), 'imgPerS': args.batch * args.steps / dt, 'warmupS': warmup,
           'stepS': [round(s, 4) for s in times], 'peakRssMiB': peak_rss_mib()[0]}
    out.update(counts(model))
    return out


def cmd_peak(args):
    torch.set_num_threads(args.threads)
    best = {}
    for n in [int(s) for s in args.sizes.split(',')]:
        a, b = torch.rand(n, n), torch.rand(n, n)
        torch.mm(a, b)
        reps = max(2, int(4e10 / (2 * n ** 3)))
        rates = []
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b)
            rates.append(2 * n ** 3 * reps / (time.perf_counter() - t) / 1e9)
        best[str(n)] = max(rates)
    return {'phase': 'torch-peak', 'backend': 'PyTorch %s torch.mm fp32 (%d threads, BLAS: %s)' % (torch.__version__, torch.get_num_threads(), blas_name()),
            'gflops': best, 'peakGflops': max(best.values())}


def blas_name():
    cfg = torch.__config__.show()
    for name in ('mkl', 'openblas', 'blis', 'eigen'):
        if ('BLAS_INFO=' + name) in cfg.replace(' ', '').lower() or ('blas=' + name) in cfg.lower():
            return name
    return 'see torch.__config__.show()'


class KerasAffine:
    """Keras's `random_transform` for shear (degrees) and zoom (zx, zy drawn independently), as one
    PIL affine map about the image centre (bilinear, as Keras's order-1 interpolation), then the
    horizontal flip. Keras fills with the nearest edge pixel; PIL fills with 0 (speed is the same)."""

    def __init__(self, shear=0.2, zoom=0.2, flip=True):
        self.shear, self.zoom, self.flip = shear, zoom, flip

    def __call__(self, img):
        from PIL import Image
        s = math.radians(random.uniform(-self.shear, self.shear))
        zx, zy = random.uniform(1 - self.zoom, 1 + self.zoom), random.uniform(1 - self.zoom, 1 + self.zoom)
        w, h = img.size
        # Keras (row, col) matrix: shear [[1, -sin s], [0, cos s]] @ zoom [[zx, 0], [0, zy]], about the centre.
        m00, m01, m10, m11 = zx, -math.sin(s) * zy, 0.0, math.cos(s) * zy
        oy, ox = h / 2 - 0.5, w / 2 - 0.5
        m02 = oy - m00 * oy - m01 * ox
        m12 = ox - m10 * oy - m11 * ox
        # PIL maps output (x, y) = (col, row) to input (a x + b y + c, d x + e y + f).
        img = img.transform((w, h), Image.AFFINE, (m11, m10, m12, m01, m00, m02), resample=Image.BILINEAR)
        if self.flip and random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return img


class RssSampler(threading.Thread):
    """Largest PSS of this process plus its children (the loader worker), sampled every 0.2 s."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = 0
        self.stop = False

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, tree_pss_kib(os.getpid()))
            time.sleep(0.2)


def tree_pss_kib(pid):
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            with open('/proc/%d/smaps_rollup' % p) as f:
                for line in f:
                    if line.startswith('Pss:'):
                        total += int(line.split()[1])
                        break
            for tid in os.listdir('/proc/%d/task' % p):
                with open('/proc/%d/task/%s/children' % (p, tid)) as f:
                    pids.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return total


def cmd_walkthrough(args):
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms
    sampler = RssSampler()
    sampler.start()
    model, opt = setup(args)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode='min', factor=0.1, patience=2, threshold=1e-4, threshold_mode='abs', min_lr=1e-6)
    nearest = transforms.InterpolationMode.NEAREST  # Keras's load_img default
    base_tf = [lambda im: im.convert('RGB'), transforms.Resize((args.size, args.size), interpolation=nearest)]
    train_tf = transforms.Compose(base_tf + [KerasAffine(0.2, 0.2, True), transforms.ToTensor()])  # ToTensor: rescale 1/255
    test_tf = transforms.Compose(base_tf + [transforms.ToTensor()])
    train_set = datasets.ImageFolder(os.path.join(args.data, 'train'), train_tf)
    valid_set = datasets.ImageFolder(os.path.join(args.data, 'valid'), test_tf)
    test_set = datasets.ImageFolder(os.path.join(args.data, 'test'), test_tf)
    g = torch.Generator()
    g.manual_seed(args.seed)
    loader = lambda ds, shuffle: DataLoader(ds, batch_size=args.batch, shuffle=shuffle, num_workers=args.workers, generator=g if shuffle else None,
                                            persistent_workers=args.workers > 0)  # each worker's `random` is seeded by torch (base seed + worker id)
    train_loader, valid_loader, test_loader = loader(train_set, True), loader(valid_set, False), loader(test_set, False)
    setup_s = time.perf_counter() - T_START
    setup_cpu = time.process_time()
    epochs = []
    t_fit = time.perf_counter()
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        seen, loss_sum, correct, wait = 0, 0.0, 0, 0.0
        tw = time.perf_counter()
        for x, y in train_loader:
            wait += time.perf_counter() - tw
            x = to_format(x, args)
            opt.zero_grad()
            out = model(x)
            loss = torch.nn.functional.cross_entropy(out, y)
            loss.backward()
            opt.step()
            n = y.shape[0]
            seen += n
            loss_sum += loss.item() * n
            correct += (out.argmax(1) == y).sum().item()
            tw = time.perf_counter()
        train_s = time.perf_counter() - t0
        tv = time.perf_counter()
        model.eval()
        vseen, vloss, vcorrect = 0, 0.0, 0
        with torch.no_grad():
            for x, y in valid_loader:
                out = model(to_format(x, args))
                vloss += torch.nn.functional.cross_entropy(out, y, reduction='sum').item()
                vcorrect += (out.argmax(1) == y).sum().item()
                vseen += y.shape[0]
        val_s = time.perf_counter() - tv
        sched.step(vloss / vseen)
        epochs.append({'epoch': epoch + 1, 'trainS': round(train_s, 2), 'valS': round(val_s, 2), 'loaderWaitS': round(wait, 2), 'loss': loss_sum / seen,
                       'accuracy': correct / seen, 'val_loss': vloss / vseen, 'val_accuracy': vcorrect / vseen, 'lr': opt.param_groups[0]['lr']})
        print('epoch %d: train %.1f s (loader wait %.1f s), validation %.1f s, loss %.4f, val_loss %.4f' % (epoch + 1, train_s, wait, val_s, loss_sum / seen, vloss / vseen), file=sys.stderr, flush=True)
    fit_s = time.perf_counter() - t_fit
    fit_cpu = time.process_time() - setup_cpu
    t_pred = time.perf_counter()
    model.eval()
    preds, labels = [], []
    with torch.no_grad():
        for x, y in test_loader:
            preds.append(torch.softmax(model(to_format(x, args)), 1).argmax(1))
            labels.append(y)
    predict_s = time.perf_counter() - t_pred
    accuracy = (torch.cat(preds) == torch.cat(labels)).float().mean().item()  # the test folders sort in the same class order
    wall = time.perf_counter() - T_START
    predict_cpu = time.process_time() - setup_cpu - fit_cpu
    sampler.stop = True
    del train_loader, valid_loader, test_loader  # joins the loader workers, so RUSAGE_CHILDREN counts them
    import gc
    gc.collect()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_mib, child_mib = peak_rss_mib()
    out = {'phase': 'torch-walkthrough', 'backend': backend(args), 'loaderWorkers': args.workers, 'trainImages': len(train_set), 'validImages': len(valid_set),
           'testImages': len(test_set), 'epochs': args.epochs, 'setupS': setup_s, 'fitS': fit_s, 'predictS': predict_s, 'wallS': wall,
           'trainS': sum(e['trainS'] for e in epochs), 'valS': sum(e['valS'] for e in epochs), 'perEpoch': epochs, 'testAccuracy': accuracy,
           'cpuS': {'setup': setup_cpu, 'fit': fit_cpu, 'predict': predict_cpu, 'loaderWorkers': children.ru_utime + children.ru_stime},
           'peakRssMiB': self_mib, 'peakRssLoaderMiB': child_mib, 'peakPssTreeMiB': max(sampler.peak, tree_pss_kib(os.getpid())) // 1024}
    out.update(counts(model))
    return out


def cmd_params(args):
    model, _ = setup(args)
    out = {'phase': 'torch-params', 'map': [{'keras': k, 'torch': t, 'trains': w} for k, t, w in KERAS_TRAINABLE], 'weightless': KERAS_WEIGHTLESS}
    out.update(counts(model))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('command', choices=['step', 'walkthrough', 'peak', 'params'])
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--data')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--workers', type=int, default=1, help='DataLoader workers (default 1)')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--memory-format', choices=['channels_last', 'contiguous'], default='channels_last')
    p.add_argument('--sizes', default='1024,2048,4096')
    args = p.parse_args()
    if args.command == 'walkthrough' and not args.data:
        p.error('walkthrough needs --data <folder with train/ valid/ test/>')
    result = {'step': cmd_step, 'walkthrough': cmd_walkthrough, 'peak': cmd_peak, 'params': cmd_params}[args.command](args)
    print('RESULT ' + json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
