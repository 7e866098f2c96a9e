/* Subcommands of the affect CLI. Each takes argv starting at its own name and returns the
 * process exit code: 0 ok, 1 failure, 2 bad usage or bad input. */
#ifndef AFFECT_CLI_H
#define AFFECT_CLI_H
int cmd_tokenize(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_eval(int argc, char **argv);
/* affect eval MODEL|RUN --data SPEC / --emoint GOLD... (eval_model.c); cmd_eval hands over
 * when cli_eval_model_wanted says the arguments are of that form. */
int cmd_eval_model(int argc, char **argv);
int cli_eval_model_wanted(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
#endif
