package model

// TorchvisionNames lists the nine ResNets torchvision's documentation
// builds with a constructor of its own, in its order: the plain ResNets
// by depth, then ResNeXt and Wide ResNet. ByName knows each of them.
func TorchvisionNames() []string {
	return []string{
		"resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
		"resnext50_32x4d", "resnext101_32x8d",
		"wide_resnet50_2", "wide_resnet101_2",
	}
}
