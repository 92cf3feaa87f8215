package convert

import (
	"fmt"
	"regexp"
	"strconv"
)

// Keras ResNets come with two naming schemes:
//
//   - keras_applications ≤ 1.0.8 (Keras 2.2, the Caffe port): conv1, bn_conv1,
//     res{stage}{block}_branch{2a,2b,2c,1}, bn{stage}{block}_branch…, fc1000.
//     Blocks are letters a, b, c, … or, in the Caffe ResNet-101/152 ports,
//     a, b1, b2, ….
//   - tf.keras ≥ 2.2: conv1_conv, conv1_bn, conv{stage}_block{n}_{0..3}_{conv,bn}
//     (0 is the projection shortcut), predictions.
//
// Stage 2..5 is torchvision's layer1..layer4; branch2a/2b/2c (or _1/_2/_3)
// are conv1/conv2/conv3 with bn1/bn2/bn3, branch1 (or _0) is downsample.0
// with downsample.1.
var (
	kerasCaffeName = regexp.MustCompile(`^(res|bn)([2-5])([a-z])([0-9]*)_branch(2a|2b|2c|1)$`)
	kerasTFName    = regexp.MustCompile(`^conv([2-5])_block([0-9]+)_([0-3])_(conv|bn)$`)
)

// kerasLayer maps a Keras conv or BatchNorm layer name to the torchvision
// prefix of the conv it belongs to and, for a BatchNorm, the prefix of the
// BatchNorm itself. ok is false for names outside both schemes.
func kerasLayer(name string) (conv, bn string, isBN, ok bool, err error) {
	switch name {
	case "conv1", "conv1_conv":
		return "conv1", "bn1", false, true, nil
	case "bn_conv1", "conv1_bn":
		return "conv1", "bn1", true, true, nil
	}
	var stage, block int
	var branch string
	if m := kerasCaffeName.FindStringSubmatch(name); m != nil {
		stage, _ = strconv.Atoi(m[2])
		isBN = m[1] == "bn"
		switch {
		case m[4] == "":
			block = int(m[3][0] - 'a')
		case m[3] == "b":
			// Caffe ResNet-101/152: a, b1, b2, …
			n, err := strconv.Atoi(m[4])
			if err != nil || n < 1 || n > 1000 {
				return "", "", false, false, fmt.Errorf("layer %s: bad block number %q", name, m[4])
			}
			block = n
		default:
			return "", "", false, false, fmt.Errorf("layer %s: block %s%s is neither a letter nor b<number>", name, m[3], m[4])
		}
		branch = map[string]string{"2a": "1", "2b": "2", "2c": "3", "1": "0"}[m[5]]
	} else if m := kerasTFName.FindStringSubmatch(name); m != nil {
		stage, _ = strconv.Atoi(m[1])
		n, err := strconv.Atoi(m[2])
		if err != nil || n < 1 || n > 1000 {
			return "", "", false, false, fmt.Errorf("layer %s: bad block number %q", name, m[2])
		}
		block = n - 1
		branch = m[3]
		isBN = m[4] == "bn"
	} else {
		return "", "", false, false, nil
	}
	prefix := fmt.Sprintf("layer%d.%d.", stage-1, block)
	if branch == "0" {
		return prefix + "downsample.0", prefix + "downsample.1", isBN, true, nil
	}
	return prefix + "conv" + branch, prefix + "bn" + branch, isBN, true, nil
}
