import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("mc_vqa_acc")
launch_gradio_widget(module)
