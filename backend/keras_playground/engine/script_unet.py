"""The fixed parts of a microscopy run's exported script (`engine/codegen_unet.py` fills in
the rest): `RandomPatches`, the `keras.utils.PyDataset` that hands `fit` new random patches
every epoch (drawn as the playground draws them), and the U-Net
as the course writes one, `unet(depth, base_filters, ...)`, with the layers and arguments
of `engine/unet.py`'s `build_unet` (so `count_params()` is the same).
"""

RANDOM_PATCHES = '''\
class RandomPatches(keras.utils.PyDataset):
    """What `fit` trains on: each epoch new random patches of the training images, in
    batches; the order of the images is shuffled each epoch (unless shuffle is False)."""

    def __init__(self, images, targets, patch, batch_size, seed, shuffle=True, **kwargs):
        super().__init__(**kwargs)
        self.images, self.targets, self.patch = images, targets, patch
        self.batch_size, self.shuffle = batch_size, shuffle
        self.order_rng = np.random.default_rng(seed)  # the order of the images
        self.patch_rng = np.random.default_rng(seed + 1)  # where the patches are cut
        self.on_epoch_end()  # the first epoch's patches

    def __len__(self):
        return -(-len(self.images) // self.batch_size)  # batches per epoch, the last one may be smaller

    def __getitem__(self, index):
        chosen = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.x[chosen], self.y[chosen]

    def on_epoch_end(self):
        n = len(self.images)
        self.order = self.order_rng.permutation(n) if self.shuffle else np.arange(n)
        self.x, self.y = patches(self.images, self.targets, self.patch, self.patch_rng)'''

UNET_FUNCTION = '''\
def conv_block(x, filters, batchnorm):
    """Two 3x3 convolutions, each followed by batch normalization (when asked) and ReLU."""
    for _ in range(2):
        # Batch normalization has a shift of its own: the convolution needs no bias then.
        x = layers.Conv2D(filters, (3, 3), padding='same', use_bias=not batchnorm)(x)
        if batchnorm:
            x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation('relu')(x)
    return x


def unet(depth, base_filters, batchnorm=True, dropout=0.0, output='foreground'):
    """A U-Net: `depth` times two convolutions and a 2x2 max pooling down (the filters
    doubling each level), two at the bottom, then back up with transposed convolutions, each
    level joined to the same level on the way down (the skip connections). It takes images
    of any side that is a multiple of 2 ** depth."""
    inputs = layers.Input(shape=(None, None, 1))
    x = PercentileNormalization()(inputs)  # each image from its 1 % (0) to its 99.8 % (1) percentile
    skips = []
    for level in range(depth):  # the way down: what is in the image
        x = conv_block(x, base_filters * 2 ** level, batchnorm)
        skips.append(x)
        x = layers.MaxPooling2D((2, 2))(x)
    x = conv_block(x, base_filters * 2 ** depth, batchnorm)  # the bottom
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    for level in reversed(range(depth)):  # the way up: where it is
        filters = base_filters * 2 ** level
        x = layers.Conv2DTranspose(filters, (2, 2), strides=(2, 2))(x)
        x = layers.Concatenate()([x, skips[level]])
        x = conv_block(x, filters, batchnorm)
    if output == 'foreground':  # the probability of a nucleus, at each pixel
        outputs = layers.Conv2D(1, (1, 1), activation='sigmoid')(x)
    elif output == 'three_class':  # background, interior, boundary: three probabilities
        outputs = layers.Conv2D(3, (1, 1), activation='softmax')(x)
    else:  # restored: the clean image
        outputs = layers.Conv2D(1, (1, 1), activation='linear')(x)
    return models.Model(inputs, outputs)'''
