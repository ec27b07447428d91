"""tinygrad_edu.vision: torchvision's shape (`import tinygrad_edu.vision as torchvision`)."""
