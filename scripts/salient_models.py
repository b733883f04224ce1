"""PyTorch reference modules of salient's models (never a runtime dependency of salient).

Used by tests/fixtures/gen_fixtures.py (the fixtures the C tests compare against) and by
scripts/ckpt_eval_torch.py (a checkpoint evaluated in PyTorch). The ResNets have the module
structure, names and registration order of SSFL's reference code (riohib/SSFL,
api/model/resnet.py): 3x3 stem conv without max-pool, `layerK.i` blocks whose `shortcut` is an
empty Sequential or Sequential(1x1 conv, norm), average pooling over the final 4x4 map, and a
`linear` head; convolutions have no bias. norm="group" puts GroupNorm(min(32, C), C) where the
reference has BatchNorm2d, as its customized_resnet18/50 do, so state_dict keys are the same
(`bn1.weight`, `layer2.0.shortcut.1.bias`, ...). resnet20 is He et al.'s CIFAR ResNet (16, 32,
64 channels, 3 blocks a stage) built from the same BasicBlock.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def make_norm(kind, channels):
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.GroupNorm(min(32, channels), channels)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = make_norm(norm, planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = make_norm(norm, planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride=stride, bias=False),
                                          make_norm(norm, planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = make_norm(norm, planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = make_norm(norm, planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = make_norm(norm, 4 * planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != 4 * planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, 4 * planes, 1, stride=stride, bias=False),
                                          make_norm(norm, 4 * planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, block, blocks, width=64, channels=3, classes=10, norm="group"):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = make_norm(norm, width)
        cin = width
        for s, n in enumerate(blocks):
            layers = []
            for i in range(n):
                layers.append(block(cin, width << s, 2 if s > 0 and i == 0 else 1, norm))
                cin = (width << s) * block.expansion
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*layers))
        self.nstages = len(blocks)
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        for s in range(self.nstages):
            out = getattr(self, "layer%d" % (s + 1))(out)
        # SSFL's code: F.avg_pool2d(out, 4) on the 4x4 map of a 32x32 input, i.e. a global mean
        out = F.adaptive_avg_pool2d(out, 1)
        return self.linear(torch.flatten(out, 1))


def resnet(arch, channels=3, classes=10, norm="group"):
    if arch == "resnet20":
        return ResNet(BasicBlock, [3, 3, 3], 16, channels, classes, norm)
    if arch == "resnet18":
        return ResNet(BasicBlock, [2, 2, 2, 2], 64, channels, classes, norm)
    if arch == "resnet50":
        return ResNet(Bottleneck, [3, 4, 6, 3], 64, channels, classes, norm)
    raise ValueError("unknown resnet " + arch)
